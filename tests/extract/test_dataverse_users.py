"""The Dataverse users extract against the local Dataverse over HTTPS."""

import json

import duckdb

from extract.dataverse import run_users_extract
from load.config import DataverseSettings


def rows(path, table):
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"select * from raw_dataverse.{table} order by 1")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_users_and_teams_land_in_raw_dataverse(fresh_dataverse, dataverse_env, tmp_path):
    seed = json.loads(fresh_dataverse.dataverse.config.seed_file.read_text())
    warehouse = tmp_path / "var" / "migration.duckdb"

    counts = run_users_extract(DataverseSettings.from_env(dataverse_env), warehouse)

    assert counts == {"systemusers": len(seed["systemusers"]), "teams": len(seed["teams"])}
    users = rows(warehouse, "systemusers")
    by_id = {u["systemuserid"]: u for u in users}
    for seeded in seed["systemusers"]:
        landed = by_id[seeded["systemuserid"]]
        assert landed["internalemailaddress"] == seeded["internalemailaddress"]
        assert landed["isdisabled"] is bool(seeded.get("isdisabled", False))
    assert {"fullname", "accessmode", "azureactivedirectoryobjectid"} <= set(users[0])
    assert not any(name.startswith("@") or "etag" in name for name in users[0])
    assert {t["name"] for t in rows(warehouse, "teams")} == {t["name"] for t in seed["teams"]}
    assert (tmp_path / "var" / "dlt").is_dir()


def test_a_second_extract_replaces_rather_than_appends(fresh_dataverse, dataverse_env, tmp_path):
    warehouse = tmp_path / "migration.duckdb"
    settings = DataverseSettings.from_env(dataverse_env)

    first = run_users_extract(settings, warehouse)
    second = run_users_extract(settings, warehouse)

    assert first == second
    assert len(rows(warehouse, "systemusers")) == first["systemusers"]

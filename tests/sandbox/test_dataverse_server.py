"""Running the local Dataverse: restart persistence, --reset, the CLI's dump and counts, service
protection and fault injection over HTTP."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.dataverse.protection import FaultConfig, ProtectionConfig
from sandbox.dataverse.service import ServerConfig
from tests.sandbox.conftest import acquire_token, api_client


def _client(server) -> httpx.Client:  # type: ignore[no-untyped-def]
    return api_client(server, acquire_token(server))


def test_records_and_created_metadata_survive_a_restart_and_reset_empties(
    dataverse_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "persist"
    server = dataverse_factory(data_dir=data_dir)
    with _client(server) as client:
        assert client.post("accounts", json={"name": "Persisted"}).status_code == 204
        assert (
            client.post(
                "EntityDefinitions(LogicalName='account')/Attributes",
                json={
                    "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                    "SchemaName": "mig_SourceKey",
                    "MaxLength": 100,
                },
            ).status_code
            == 204
        )
    server.stop()
    again = dataverse_factory(data_dir=data_dir)
    with _client(again) as client:
        rows = client.get("accounts?$select=name,mig_sourcekey").json()["value"]
        assert [row["name"] for row in rows] == ["Persisted"]
    again.stop()
    reset = dataverse_factory(data_dir=data_dir, reset=True)
    with _client(reset) as client:
        assert client.get("accounts/$count").text == "0"
        assert client.get("systemusers/$count").text != "0"  # the seed is written again


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox.dataverse", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )


def test_cli_dump_and_counts_are_stable(dataverse_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "inspect"
    server = dataverse_factory(data_dir=data_dir)
    with _client(server) as client:
        for name in ("B", "A"):
            client.post("accounts", json={"name": name})
    counts = json.loads(_cli("counts", "--data-dir", str(data_dir)).stdout)
    assert counts["account"] == 2 and counts["systemuser"] >= 12
    first = _cli("dump", "--data-dir", str(data_dir)).stdout.splitlines()
    second = _cli("dump", "--data-dir", str(data_dir)).stdout.splitlines()
    assert first == second
    keys = [(json.loads(line)["table"], json.loads(line)["id"]) for line in first]
    assert keys == sorted(keys)
    assert server.dump_lines() == first


def test_seed_has_enabled_disabled_and_emailless_users_and_the_app_user(api: httpx.Client) -> None:
    users = api.get(
        "systemusers?$select=internalemailaddress,isdisabled,accessmode,applicationid"
    ).json()["value"]
    assert sum(1 for u in users if not u["isdisabled"] and u["internalemailaddress"]) >= 10
    assert sum(1 for u in users if u["isdisabled"]) == 2
    assert any(u["internalemailaddress"] is None for u in users)
    assert any(u["internalemailaddress"] == "migration.admin@contoso.example" for u in users)
    app_user = [u for u in users if u["applicationid"] == "51f81489-12ee-4a9e-aaae-a2591f45987d"]
    assert len(app_user) == 1 and app_user[0]["accessmode"] == 4
    assert api.get("WhoAmI").json()["UserId"] == app_user[0]["systemuserid"]
    assert int(api.get("teams/$count").text) >= 2


def test_service_protection_answers_429_with_retry_after(dataverse_factory) -> None:  # type: ignore[no-untyped-def]
    server = dataverse_factory(protection=ProtectionConfig.from_spec("requests=3,window=30,dop=7"))
    with _client(server) as client:
        statuses = []
        for _ in range(4):
            response = client.get("WhoAmI")
            statuses.append(response.status_code)
        assert statuses == [200, 200, 200, 429]
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"]["code"] == "0x80072322"
        assert response.json()["error"]["message"] == (
            "Number of requests exceeded the limit of 3 over time window of 30 seconds."
        )
        ok = server.dataverse.protection.headers(
            server.dataverse.caller_for("51f81489-12ee-4a9e-aaae-a2591f45987d").systemuserid
        )
        assert ok["x-ms-dop-hint"] == "7"


def test_protection_headers_on_success(dataverse_factory) -> None:  # type: ignore[no-untyped-def]
    server = dataverse_factory(protection=ProtectionConfig.from_spec("default"))
    with _client(server) as client:
        response = client.get("WhoAmI")
    assert response.status_code == 200
    for header in (
        "x-ms-ratelimit-burst-remaining-xrm-requests",
        "x-ms-ratelimit-time-remaining-xrm-requests",
        "x-ms-dop-hint",
    ):
        assert header in response.headers


def test_faults_replay_from_the_seed(dataverse_factory) -> None:  # type: ignore[no-untyped-def]
    def outcomes() -> list[str]:
        server = dataverse_factory(faults=FaultConfig.from_spec("seed=3,5xx=0.3,drop=0.2"))
        results = []
        with _client(server) as client:
            for _ in range(12):
                try:
                    results.append(str(client.get("WhoAmI").status_code))
                except httpx.HTTPError:
                    results.append("dropped")
        server.stop()
        return results

    first = outcomes()
    assert first == outcomes()
    assert "503" in first and "dropped" in first and "200" in first


def test_config_defaults_are_off() -> None:
    config = ServerConfig()
    assert not config.protection.enabled
    assert config.faults.rate_5xx == config.faults.rate_drop == 0


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _uvicorn_log() -> Iterator[_Records]:
    """uvicorn's error log; enter it after starting the server (uvicorn.Config resets the
    handlers of its loggers)."""
    handler = _Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_stop_with_an_idle_keep_alive_client_is_quick_and_silent(dataverse_factory) -> None:  # type: ignore[no-untyped-def]
    server = dataverse_factory()
    with _uvicorn_log() as log, _client(server) as client:
        assert client.get("WhoAmI").status_code == 200  # the connection stays open, idle
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
    assert [r.getMessage() for r in log.records if r.levelno >= logging.WARNING] == []


def test_injected_drop_closes_the_connection_and_logs_one_line(dataverse_factory) -> None:  # type: ignore[no-untyped-def]
    server = dataverse_factory(faults=FaultConfig.from_spec("seed=1,drop=1"))
    with _uvicorn_log() as log:
        with _client(server) as client, pytest.raises(httpx.HTTPError):
            client.get("WhoAmI")
        server.stop()
    warnings = [r for r in log.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].exc_info is None
    assert warnings[0].levelname == "WARNING"
    assert warnings[0].getMessage() == (
        "fault injection: dropped the connection of GET /api/data/v9.2/WhoAmI"
    )


def test_a_data_file_with_the_former_records_table_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    from sandbox.dataverse.store import DATABASE_FILE, Store

    db = sqlite3.connect(tmp_path / DATABASE_FILE)
    db.execute(
        "create table records (entity text not null, id text not null, version integer not null, "
        "data text not null, primary key (entity, id)) without rowid"
    )
    db.execute("insert into records values ('account', 'a1', 1001, '{\"name\":\"Kept\"}')")
    db.commit()
    db.close()
    store = Store(tmp_path)
    try:
        assert store.get("account", "a1") == {"name": "Kept"}
        assert store.get_many("account", ["a1", "a2"]) == {"a1": {"name": "Kept"}}
        store.insert_many("account", [("a2", 1002, {"name": "New"})])
        assert store.count("account") == 2
    finally:
        store.close()
    sql = (
        sqlite3.connect(tmp_path / DATABASE_FILE)
        .execute("select sql from sqlite_master where name = 'records'")
        .fetchone()[0]
    )
    assert "without rowid" not in sql.lower()

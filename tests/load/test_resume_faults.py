"""Resume after kill -9 at several points; faults injected at stated rates; one poisoned record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from load.diff import run_diff
from load.ledger import Ledger
from load.manifest import load_manifest
from load.runner import CRASH_ENV, LoadOptions, run_load
from tests.fixtures.dataverse import client_env
from tests.load.production import make_setup, records
from tests.load.warehouse import guid

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SMALL = LoadOptions(
    batch_size=2, max_batch_size=2, batch_requests=2, concurrency=1, max_concurrency=1
)
SCRIPT = """
import json, sys
from pathlib import Path
from load.config import DataverseSettings, LoadPaths
from load.runner import LoadOptions, run_load
paths = LoadPaths(**{k: Path(v) for k, v in json.loads(sys.argv[1]).items()})
options = LoadOptions(batch_size=2, max_batch_size=2, batch_requests=2, concurrency=1,
                      max_concurrency=1)
run_load(DataverseSettings.from_env(), paths=paths, options=options)
"""


def expected_ids(rows: dict) -> dict[str, list[str]]:
    keys = {"dv_account": "accountid", "dv_contact": "contactid", "dv_opportunity": "opportunityid",
            "dv_task": "activityid", "dv_phonecall": "activityid"}  # fmt: skip
    return {name[3:]: sorted(str(row[key]) for row in rows[name]) for name, key in keys.items()}


def killed_load(setup, crash: str) -> int:  # noqa: ANN001
    env = {**os.environ, **setup.env, CRASH_ENV: crash}
    paths = {k: str(v) for k, v in vars(setup.paths).items()}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(paths)], cwd=ROOT, env=env, timeout=120,
        capture_output=True, text=True,
    )  # fmt: skip
    return done.returncode


def diff_all(setup) -> int:  # noqa: ANN001
    with (
        setup.client() as client,
        Ledger(setup.paths.ledger) as ledger,
        duckdb.connect(str(setup.paths.duckdb), read_only=True) as con,
    ):
        specs = load_manifest(setup.paths.manifest)
        return run_diff(client, ledger, con, specs, setup.paths.reports, everything=True).total


def test_killed_at_several_points_then_rerun_loads_everything_once(
    tmp_path, fresh_dataverse, dataverse_env
):
    setup = make_setup(tmp_path, fresh_dataverse, dataverse_env, accounts=4, contacts_per_account=3)

    # killed before a batch is sent, inside one (sent, answer not ledgered), after one, and
    # twice in a row
    for crash in ("before_send:3", "after_send:4", "after_record:6", "after_send:2"):
        assert killed_load(setup, crash) == 137, crash
    result = run_load(setup.settings, paths=setup.paths, options=SMALL)

    assert result.ok, result.failures
    assert records(fresh_dataverse) == expected_ids(setup.rows)  # nothing missing, no duplicates
    assert diff_all(setup) == 0  # every field as the marts say, states and links included
    with Ledger(setup.paths.ledger) as ledger:
        statuses = [run["status"] for run in ledger.runs()]
    assert statuses == ["interrupted"] * 4 + ["ok"]
    again = run_load(setup.settings, paths=setup.paths, options=SMALL)
    assert sum(t.loaded + t.state_updated + t.linked for t in again.tables.values()) == 0


def test_429s_5xx_and_dropped_connections_lose_and_duplicate_nothing(tmp_path, dataverse_factory):
    from sandbox.dataverse.protection import FaultConfig, ProtectionConfig

    server = dataverse_factory(
        protection=ProtectionConfig.from_spec("requests=10,window=2,dop=4"),
        faults=FaultConfig(seed=11, rate_5xx=0.10, rate_drop=0.05),  # 15% of requests fail
        key_activation_seconds=0.1,
    )
    setup = make_setup(tmp_path, server, client_env(server), accounts=4, contacts_per_account=3)
    options = LoadOptions(batch_size=3, max_batch_size=6, batch_requests=3, max_concurrency=4)

    result = run_load(setup.settings, paths=setup.paths, options=options)

    assert result.ok, result.failures
    assert result.stats["throttles"] > 0, "never throttled: the test proves nothing"
    assert records(server) == expected_ids(setup.rows)
    assert diff_all(setup) == 0


def test_one_poisoned_record_is_isolated_from_a_bulk_request(
    tmp_path, fresh_dataverse, dataverse_env
):
    setup = make_setup(
        tmp_path, fresh_dataverse, dataverse_env, accounts=24, contacts_per_account=0
    )
    setup.rows["dv_opportunity"][13]["name"] = "y" * 400  # opportunity.name max 300
    setup.rewrite()
    options = LoadOptions(batch_size=16, max_batch_size=16)

    result = run_load(setup.settings, paths=setup.paths, options=options)

    failures = [f for f in result.failures if f.table == "opportunity"]
    assert [(f.source_key, f.status) for f in failures] == [("opencrm:opportunity:14", 400)]
    assert "name" in failures[0].message
    assert result.tables["opportunity"].created == 23
    assert fresh_dataverse.counts()["opportunity"] == 23
    with Ledger(setup.paths.ledger) as ledger:
        failed = [
            e
            for e in ledger.entries(result.run_id)
            if e["outcome"] == "failed" and e["table_name"] == "opportunity"
        ]
    assert [(e["record_id"], e["source_key"]) for e in failed] == [
        (guid("opportunity", 14), "opencrm:opportunity:14")
    ]
    assert failed[0]["error_code"] and failed[0]["error_message"]

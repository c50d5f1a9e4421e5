"""Shared setup for the production-strength loader tests (resume, faults, diff, delta, rollback)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from load.client import DataverseClient
from load.config import DataverseSettings, LoadPaths
from tests.load.warehouse import MANIFEST, demo_rows, write_warehouse


@dataclass
class Setup:
    settings: DataverseSettings
    paths: LoadPaths
    owner: str
    rows: dict
    env: dict

    def rewrite(self) -> None:
        write_warehouse(self.paths.duckdb, self.rows)

    def client(self) -> DataverseClient:
        return DataverseClient(self.settings)


def enabled_owner(server) -> str:  # noqa: ANN001
    seed = json.loads(server.dataverse.config.seed_file.read_text())
    return next(u["systemuserid"] for u in seed["systemusers"] if not u.get("isdisabled"))


def make_setup(tmp_path: Path, server, env: dict[str, str], **row_options) -> Setup:  # noqa: ANN001
    owner = enabled_owner(server)
    rows = demo_rows(owner, **row_options)
    paths = LoadPaths(
        duckdb=tmp_path / "var" / "migration.duckdb",
        ledger=tmp_path / "var" / "ledger.duckdb",
        manifest=tmp_path / "target" / "manifest.json",
        reports=tmp_path / "var" / "reports",
    )
    paths.manifest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(MANIFEST, paths.manifest)
    write_warehouse(paths.duckdb, rows)
    return Setup(DataverseSettings.from_env(env), paths, owner, rows, dict(env))


def records(server, tables=("account", "contact", "opportunity", "task", "phonecall")) -> dict:  # noqa: ANN001
    """{table: sorted ids} straight from the local Dataverse's dump."""
    found: dict[str, list[str]] = {t: [] for t in tables}
    for line in server.dump_lines():
        item = json.loads(line)
        if item["table"] in found:
            found[item["table"]].append(item["id"])
    return {t: sorted(ids) for t, ids in found.items()}

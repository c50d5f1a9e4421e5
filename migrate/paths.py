"""Where runtime state lives: one folder (`var/` by default), never committed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StatePaths:
    """The files one migration works with; `MIGRATE_*` environment variables override each."""

    var: Path
    warehouse: Path
    ledger: Path
    reports: Path
    opencrm_export: Path
    dataverse_data: Path

    @classmethod
    def from_env(cls, var: Path | None = None) -> StatePaths:
        base = var or Path(os.environ.get("MIGRATE_VAR", PROJECT_ROOT / "var"))
        return cls(
            var=base,
            warehouse=Path(os.environ.get("MIGRATE_DUCKDB", base / "migration.duckdb")),
            ledger=Path(os.environ.get("MIGRATE_LEDGER", base / "ledger.duckdb")),
            reports=base / "reports",
            opencrm_export=base / "sandbox" / "opencrm" / "export",
            dataverse_data=base / "dataverse",
        )

    def export_env(self) -> None:
        """Publish the paths to child processes (profiles/profiles.yml reads MIGRATE_DUCKDB)."""
        os.environ["MIGRATE_VAR"] = str(self.var)
        os.environ["MIGRATE_DUCKDB"] = str(self.warehouse)
        os.environ["MIGRATE_LEDGER"] = str(self.ledger)

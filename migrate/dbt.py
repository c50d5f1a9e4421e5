"""Run dbt as the analyst would: the `dbt` executable of this environment, from the project root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from migrate.paths import PROJECT_ROOT


class DbtFailed(RuntimeError):
    """dbt exited non-zero: a model failed to build or a test with severity error failed."""


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(args: list[str], *, quiet: bool = False) -> None:
    """Run `dbt <args>` with the project's profile; raise DbtFailed on failure."""
    command = [dbt_executable(), *args, "--profiles-dir", str(PROJECT_ROOT / "profiles")]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    completed = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        tail = (completed.stdout or "")[-4000:] if quiet else ""
        raise DbtFailed(
            f"`dbt {' '.join(args)}` failed (exit {completed.returncode}). {tail}\n"
            "Read the failing model or test above; fix the mapping or the data, then run it again."
        )


def dbt_build(select: str | None = None, *, quiet: bool = False) -> None:
    args = ["build"]
    if select:
        args += ["--select", select]
    run_dbt(args, quiet=quiet)

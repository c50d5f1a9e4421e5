"""Run dbt as the analyst would: the `dbt` executable of this environment, from the project root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from migrate.paths import PROJECT_ROOT

# Summary mode shows only these dbt lines: what was found, what warned or failed, the total.
SUMMARY_LINE = re.compile(r"Found \d+ models|WARN|ERROR|FAIL|Failure|Done\. PASS|Completed")


class DbtFailed(RuntimeError):
    """dbt exited non-zero: a model failed to build or a test with severity error failed."""


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    args: list[str], *, quiet: bool = False, echo: Callable[[str], None] | None = None
) -> None:
    """Run `dbt <args>` with the project's profile; raise DbtFailed on failure.

    quiet: print nothing (the output goes into the error message on failure).
    echo: receive each output line instead of dbt printing to the terminal.
    """
    command = [dbt_executable(), *args, "--profiles-dir", str(PROJECT_ROOT / "profiles")]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    captured = quiet or echo is not None
    if captured:
        command.insert(1, "--no-use-colors")
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE if captured else None,
        stderr=subprocess.STDOUT if captured else None,
        text=True,
    )
    lines: list[str] = []
    if process.stdout is not None:
        for line in process.stdout:
            lines.append(line)
            if echo is not None:
                echo(line.rstrip("\n"))
    code = process.wait()
    if code != 0:
        tail = "".join(lines[-60:]) if quiet else ""
        raise DbtFailed(
            f"`dbt {' '.join(args)}` failed (exit {code}).\n{tail}"
            "Read the failing model or test above; fix the mapping or the data, then run it again."
        )


def dbt_build(select: str | None = None, *, summary: Callable[[str], None] | None = None) -> None:
    """`dbt build`; with `summary`, only the lines an operator needs are passed to it."""
    args = ["build"]
    if select:
        args += ["--select", select]
    if summary is None:
        run_dbt(args)
        return

    def keep(line: str) -> None:
        if SUMMARY_LINE.search(line):
            summary(line)

    run_dbt(args, echo=keep)

"""The operator's CLI: every command explains itself, and bad configuration says what to set."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from migrate.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["extract"],
        ["sandbox"],
        ["sandbox", "users"],
        ["build"],
        ["load"],
        ["demo"],
        ["schema"],
        ["preflight"],
        ["diff"],
        ["rollback"],
        ["coreplus"],
        ["extract", "opencrm"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_load_without_configuration_names_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # noqa: ANN001
    for name in ("DATAVERSE_URL", "DATAVERSE_CLIENT_ID", "DATAVERSE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MIGRATE_VAR", str(tmp_path))
    result = runner.invoke(app, ["load", "--sample", "5"])
    assert result.exit_code == 2
    assert "DATAVERSE_URL" in result.output


def test_load_refuses_sample_and_full_together() -> None:
    result = runner.invoke(app, ["load", "--sample", "5", "--full"])
    assert result.exit_code == 2
    assert "not both" in result.output


def test_extract_of_a_missing_export_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # noqa: ANN001
    monkeypatch.setenv("MIGRATE_VAR", str(tmp_path))
    result = runner.invoke(app, ["extract", "opencrm", "--export-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "nowhere" in result.output

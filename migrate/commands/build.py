"""`crm-migrate build`: dbt build — seeds, models and every data test."""

from __future__ import annotations

from typing import Annotated

import typer

from migrate.commands.common import fail, state_paths


def build(
    select: Annotated[str | None, typer.Option(help="dbt node selection, e.g. +dv_contact")] = None,
) -> None:
    """Run `dbt build`: seeds, models and every data test (integrity, reconciliation)."""
    from migrate.dbt import DbtFailed, dbt_build

    state_paths()
    try:
        dbt_build(select)
    except DbtFailed as error:
        fail(str(error))

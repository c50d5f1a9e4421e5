"""`crm-migrate`: one CLI for operators — sandbox, extract, build, load, report, demo.

Each concern's commands live in `migrate/commands/<concern>.py`; this module only assembles them.
"""

from __future__ import annotations

import typer

from migrate.commands import build, coreplus, demo, extract, load, ops, sandbox, schema

app = typer.Typer(
    help=(
        "Migrate CRM data into Microsoft Dynamics 365 Sales (Dataverse).\n\n"
        "The flow: extract (dlt → DuckDB) → build (dbt: staging → marts + tests) → "
        "load (sample, then full) → report. With no configuration every command works on the "
        "embedded defaults: a DuckDB file under var/, generated source exports, and the local "
        "Dataverse. Point it at a real environment with DATAVERSE_URL, DATAVERSE_TENANT_ID, "
        "DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET (or DATAVERSE_CLIENT_CERT)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(extract.app, name="extract")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(schema.app, name="schema")
app.add_typer(coreplus.app, name="coreplus")
app.command("build")(build.build)
app.command("preflight")(schema.preflight)
app.command("load")(load.load)
for name in ("diff", "signoff", "delta", "rollback", "report"):
    app.command(name)(getattr(ops, name))
app.command("demo")(demo.demo)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

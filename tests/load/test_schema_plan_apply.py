"""The declared schema against the local Dataverse: plan, apply, idempotency, the tier limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from load.client import DataverseClient
from load.config import DataverseSettings
from load.manifest import CustomColumn, TableSpec, load_manifest
from load.schema import (
    DEFAULT_SCHEMA_FILE,
    AlternateKey,
    SchemaError,
    SchemaSettings,
    SchemaTierError,
    apply_schema,
    custom_table_names,
    declared_schema,
    load_declared_schema,
    plan_schema,
    read_table,
)
from sandbox.dataverse.server import RunningServer
from tests.fixtures.dataverse import client_env
from tests.load.warehouse import MANIFEST

SETTINGS = SchemaSettings(prefix="mig", solution="crmmigration", tier="professional")


def _client(server: RunningServer) -> DataverseClient:
    return DataverseClient(DataverseSettings.from_env(client_env(server)))


def _custom_table(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "display_name": name.removeprefix("mig_").title(),
        "primary_name": {"name": "mig_name", "max_length": 200, "label": "Name"},
        **extra,
    }


SITE_VISITS = {
    "custom_tables": [
        _custom_table(
            "mig_sitevisit",
            columns=[
                {"name": "mig_sourcekey", "type": "String", "max_length": 100},
                {"name": "mig_visitedon", "type": "DateTime", "format": "DateOnly"},
                {
                    "name": "mig_outcome",
                    "type": "Picklist",
                    "options": [{"value": 100000000, "label": "Won"}],
                },
            ],
            alternate_keys=[{"name": "mig_sourcekey_key", "columns": ["mig_sourcekey"]}],
        )
    ],
    "relationships": [
        {
            "name": "mig_account_mig_sitevisit",
            "referenced": "account",
            "referencing": "mig_sitevisit",
            "lookup": "mig_accountid",
            "label": "Account",
        }
    ],
}


def test_the_repository_schema_merges_the_marts_custom_columns() -> None:
    specs = load_manifest(MANIFEST)
    schema = load_declared_schema(specs, schema_file=DEFAULT_SCHEMA_FILE, settings=SETTINGS)
    contact = schema.table("contact")
    assert contact is not None
    assert {c.name for c in contact.columns} >= {"mig_sourcekey", "mig_preferredcontactmethod"}
    assert [k.columns for k in contact.alternate_keys] == [("mig_sourcekey",)]


def test_another_sources_custom_tables_and_lookups_are_out_of_scope() -> None:
    """The repository declares the CorePlus custom tables; an OpenCRM manifest plans none."""
    specs = load_manifest(MANIFEST)
    assert "dv_mig_clientgroup" not in {spec.model for spec in specs}
    schema = load_declared_schema(specs, schema_file=DEFAULT_SCHEMA_FILE, settings=SETTINGS)
    assert [t.name for t in schema.tables if t.custom] == []
    assert schema.relationships == ()
    group = TableSpec(
        model="dv_mig_clientgroup",
        relation='"main"."dv_mig_clientgroup"',
        table="mig_clientgroup",
        entity_set="mig_clientgroups",
        primary_key="mig_clientgroupid",
        source_key="mig_sourcekey",
        root=False,
        custom_columns=(CustomColumn("mig_sourcekey", "String", 100),),
    )
    scoped = load_declared_schema(
        [*specs, group], schema_file=DEFAULT_SCHEMA_FILE, settings=SETTINGS
    )
    assert [t.name for t in scoped.tables if t.custom] == ["mig_clientgroup"]
    table = scoped.table("mig_clientgroup")
    assert table is not None and table.primary_name is not None
    assert [k.columns for k in table.alternate_keys] == [("mig_sourcekey",)]
    # contact.mig_clientgroupid comes with the group table; the invoice lookups do not
    assert [(r.referencing, r.lookup) for r in scoped.relationships] == [
        ("contact", "mig_clientgroupid")
    ]
    with pytest.raises(SchemaError, match="must be a list of mart names"):
        declared_schema(
            {"custom_tables": [_custom_table("mig_visit", models="dv_mig_visit")]}, [], SETTINGS
        )


def test_the_prefix_and_solution_come_from_dbt_project() -> None:
    settings = SchemaSettings.from_project()
    assert (settings.prefix, settings.tier, settings.custom_table_limit) == (
        "mig",
        "professional",
        15,
    )
    assert settings.solution
    assert SchemaSettings.from_project(tier="Enterprise").custom_table_limit is None
    with pytest.raises(SchemaError, match="licence tier 'gold' is unknown"):
        SchemaSettings.from_project(tier="gold")


def test_names_without_the_prefix_are_refused_and_source_keys_get_a_key() -> None:
    with pytest.raises(SchemaError, match="does not begin with the publisher prefix 'mig_'"):
        declared_schema({"custom_tables": [_custom_table("new_visit")]}, [], SETTINGS)
    spec = TableSpec(
        "dv_contact",
        '"main"."dv_contact"',
        "contact",
        "contacts",
        "contactid",
        "mig_sourcekey",
        False,
        custom_columns=(CustomColumn("mig_sourcekey", "String", 100),),
    )
    implied = declared_schema({}, [spec], SETTINGS).table("contact")
    assert implied is not None
    assert implied.alternate_keys == (AlternateKey("mig_sourcekey_key", ("mig_sourcekey",)),)
    with pytest.raises(SchemaError, match="declared differently"):
        declared_schema(
            {
                "tables": {
                    "contact": {
                        "columns": [{"name": "mig_sourcekey", "type": "String", "max_length": 50}],
                        "alternate_keys": [
                            {"name": "mig_sourcekey_key", "columns": ["mig_sourcekey"]}
                        ],
                    }
                }
            },
            [spec],
            SETTINGS,
        )


def test_plan_apply_and_a_second_apply_changes_nothing(fresh_dataverse: RunningServer) -> None:
    specs = load_manifest(MANIFEST)
    data = yaml.safe_load(DEFAULT_SCHEMA_FILE.read_text())
    # the test manifest has five of the seven marts: keep the keys of those
    data["tables"] = {t: v for t, v in data["tables"].items() if t in {s.table for s in specs}}
    data |= {k: SITE_VISITS[k] for k in ("custom_tables", "relationships")}
    schema = declared_schema(data, specs, SETTINGS)
    with _client(fresh_dataverse) as client:
        plan = plan_schema(client, schema)
        kinds = {(a.kind, a.table, a.name) for a in plan.actions}
        assert ("table", "mig_sitevisit", "mig_sitevisit") in kinds
        assert ("column", "mig_sitevisit", "mig_visitedon") in kinds
        assert ("column", "contact", "mig_preferredcontactmethod") in kinds
        assert ("relationship", "mig_sitevisit", "mig_accountid") in kinds
        assert ("key", "contact", "mig_sourcekey_key") in kinds
        assert plan.new_custom_tables == ["mig_sitevisit"] and not plan.over_limit
        assert not plan.conflicts

        result = apply_schema(client, plan, poll=0.05)

        assert result.changed and set(result.published) >= {"contact", "mig_sitevisit"}
        assert ("mig_sitevisit", "mig_sourcekey_key") in result.keys_active
        visit = read_table(client, "mig_sitevisit")
        assert visit is not None and visit.is_custom
        assert visit.attributes["mig_sourcekey"]["MaxLength"] == 100
        assert visit.keys["mig_sourcekey_key"]["EntityKeyIndexStatus"] == "Active"
        assert [r["ReferencedEntity"] for r in visit.navigation("mig_accountid")] == ["account"]
        contact = read_table(client, "contact")
        assert contact is not None
        options = contact.attributes["mig_preferredcontactmethod"]["OptionSet"]["Options"]
        assert [o["Value"] for o in options] == [100000000, 100000001, 100000002]
        assert custom_table_names(client) == {"mig_sitevisit"}
        dump = fresh_dataverse.dump_lines()

        again = plan_schema(client, schema)
        assert again.changes_nothing and not again.conflicts, again.actions
        second = apply_schema(client, again, poll=0.05)
        assert not second.changed and second.published == []
        assert fresh_dataverse.dump_lines() == dump


def test_apply_refuses_a_plan_over_the_tier_limit(fresh_dataverse: RunningServer) -> None:
    data = {"custom_tables": [_custom_table(f"mig_object{i:02d}") for i in range(16)]}
    schema = declared_schema(data, [], SETTINGS)
    with _client(fresh_dataverse) as client:
        plan = plan_schema(client, schema)
        assert plan.over_limit and len(plan.new_custom_tables) == 16
        with pytest.raises(SchemaTierError, match="professional tier allows 15") as refused:
            apply_schema(client, plan)
        assert "dataverse_licence_tier" in str(refused.value)
        assert custom_table_names(client) == set(), "nothing was created"

        enterprise = plan_schema(
            client, declared_schema(data, [], SchemaSettings(tier="enterprise"))
        )
        assert not enterprise.over_limit


def test_existing_custom_tables_count_towards_the_limit(fresh_dataverse: RunningServer) -> None:
    first = declared_schema(
        {"custom_tables": [_custom_table(f"mig_object{i:02d}") for i in range(14)]}, [], SETTINGS
    )
    with _client(fresh_dataverse) as client:
        apply_schema(client, plan_schema(client, first), poll=0.05)
        assert len(custom_table_names(client)) == 14
        more = declared_schema(
            {"custom_tables": [_custom_table(f"mig_object{i:02d}") for i in range(14, 16)]},
            [],
            SETTINGS,
        )
        plan = plan_schema(client, more)
        assert plan.over_limit
        assert "14 custom tables exist, the plan adds 2: 16 in all" in plan.tier_message
        one_more = declared_schema({"custom_tables": [_custom_table("mig_object14")]}, [], SETTINGS)
        assert not plan_schema(client, one_more).over_limit


def test_a_differing_column_is_a_conflict_not_a_change(fresh_dataverse: RunningServer) -> None:
    narrow = {
        "tables": {
            "contact": {"columns": [{"name": "mig_code", "type": "String", "max_length": 20}]}
        }
    }
    wide = {
        "tables": {
            "contact": {"columns": [{"name": "mig_code", "type": "String", "max_length": 80}]}
        }
    }
    with _client(fresh_dataverse) as client:
        apply_schema(client, plan_schema(client, declared_schema(narrow, [], SETTINGS)))
        plan = plan_schema(client, declared_schema(wide, [], SETTINGS))
        assert plan.actions == []
        [conflict] = plan.conflicts
        assert "holds 20 characters, declared 80" in conflict.message
        assert "raise its maximum length" in conflict.fix


def test_apply_via_the_cli(fresh_dataverse: RunningServer, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from migrate.commands.schema import app

    env = client_env(fresh_dataverse) | {"MIGRATE_VAR": str(tmp_path)}
    schema_file = tmp_path / "schema.yml"
    keys = {"alternate_keys": [{"name": "mig_sourcekey_key", "columns": ["mig_sourcekey"]}]}
    tables = {spec.table: keys for spec in load_manifest(MANIFEST)}
    schema_file.write_text(yaml.safe_dump({"tables": tables}))
    args = ["--manifest", str(MANIFEST), "--schema-file", str(schema_file)]
    runner = CliRunner()
    planned = runner.invoke(app, ["plan", *args], env=env)
    assert planned.exit_code == 0, planned.output
    assert "mig_sourcekey_key" in planned.output
    applied = runner.invoke(app, ["apply", *args], env=env)
    assert applied.exit_code == 0, applied.output
    again = runner.invoke(app, ["apply", *args], env=env)
    assert again.exit_code == 0 and "Nothing to change" in again.output, again.output

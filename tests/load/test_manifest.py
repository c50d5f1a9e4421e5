import json

import pytest

from load.manifest import (
    ActivityParty,
    CustomColumn,
    Lookup,
    ManifestError,
    load_manifest,
    parse_manifest,
)
from tests.load.warehouse import MANIFEST


def manifest_data() -> dict:
    return json.loads(MANIFEST.read_text())


def test_reads_only_enabled_models_with_dataverse_meta():
    specs = load_manifest(MANIFEST)

    assert [spec.table for spec in specs] == [
        "account",
        "contact",
        "opportunity",
        "phonecall",
        "task",
    ]


def test_spec_fields_come_from_config_meta():
    account = {spec.table: spec for spec in load_manifest(MANIFEST)}["account"]

    assert account.model == "dv_account"
    assert account.relation == '"main"."dv_account"'
    assert (account.entity_set, account.primary_key, account.source_key) == (
        "accounts",
        "accountid",
        "mig_sourcekey",
    )
    assert account.root is True
    assert account.lookups[0] == Lookup("parentaccountid", "parentaccountid", "account", "accounts")
    assert account.create_only_columns == ("overriddencreatedon",)
    assert account.custom_columns == (CustomColumn("mig_sourcekey", "String", 100),)


def test_node_level_meta_and_activity_parties():
    specs = {spec.table: spec for spec in load_manifest(MANIFEST)}

    assert specs["task"].state_columns == ("statecode", "statuscode")
    assert specs["task"].root is False
    assert specs["phonecall"].activity_parties == (
        ActivityParty("to_contact", 2, "contact", "contacts"),
        ActivityParty("from_systemuser", 1, "systemuser", "systemusers"),
    )
    assert ("to_contact", "contact") in specs["phonecall"].references


def test_missing_required_meta_names_the_model():
    data = manifest_data()
    del data["nodes"]["model.d365_migrate.dv_contact"]["config"]["meta"]["dataverse"]["entity_set"]

    with pytest.raises(ManifestError, match=r"dv_contact: meta.dataverse.entity_set"):
        parse_manifest(data)


def test_two_models_for_one_table_is_an_error():
    data = manifest_data()
    node = json.loads(json.dumps(data["nodes"]["model.d365_migrate.dv_contact"]))
    node["name"] = "dv_contact_copy"
    data["nodes"]["model.d365_migrate.dv_contact_copy"] = node

    with pytest.raises(ManifestError, match="both load contact"):
        parse_manifest(data)


def test_missing_manifest_says_what_to_run(tmp_path):
    with pytest.raises(ManifestError, match="dbt build"):
        load_manifest(tmp_path / "manifest.json")

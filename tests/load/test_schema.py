import pytest

from load.manifest import CustomColumn, load_manifest
from load.schema import SchemaError, attribute_definition
from tests.load.warehouse import MANIFEST


def test_string_column_definition():
    definition = attribute_definition(CustomColumn("mig_sourcekey", "String", 100))

    assert definition["@odata.type"] == "Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert definition["SchemaName"] == "mig_sourcekey" and definition["MaxLength"] == 100
    assert definition["DisplayName"]["LocalizedLabels"][0]["Label"] == "mig_sourcekey"


def test_picklist_and_date_only_definitions_from_the_manifest():
    columns = {c.name: c for spec in load_manifest(MANIFEST) for c in spec.custom_columns}

    picklist = attribute_definition(columns["mig_preferredcontactmethod"])
    boolean = attribute_definition(columns["mig_newsletter"])
    date_only = attribute_definition(
        CustomColumn("mig_customersince", "DateTime", format="DateOnly")
    )

    assert picklist["AttributeType"] == "Picklist"
    assert [
        (o["Value"], o["Label"]["LocalizedLabels"][0]["Label"])
        for o in picklist["OptionSet"]["Options"]
    ] == [
        (100000000, "Email"),
        (100000001, "Phone"),
        (100000002, "Post"),
    ]
    assert picklist["DisplayName"]["LocalizedLabels"][0]["Label"] == "Preferred Contact Method"
    assert boolean["OptionSet"]["OptionSetType"] == "Boolean"
    assert (date_only["Format"], date_only["DateTimeBehavior"]) == (
        "DateOnly",
        {"Value": "DateOnly"},
    )


def test_unknown_type_is_refused_before_anything_is_sent():
    with pytest.raises(SchemaError, match="Lookup"):
        attribute_definition(CustomColumn("mig_x", "Lookup"))

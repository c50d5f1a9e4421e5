"""Custom columns the marts declare (`meta.dataverse.custom_columns`), created where missing.

Minimal on purpose: the columns only, through the Metadata API. Alternate keys, option-set
changes and a reviewable plan belong to the schema step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from load.client import DataverseClient
from load.manifest import CustomColumn, TableSpec

__all__ = ["SchemaError", "ATTRIBUTE_TYPES", "attribute_definition", "ensure_custom_columns"]


class SchemaError(Exception):
    """A custom column the loader cannot describe to the Metadata API."""


def _label(text: str) -> dict[str, Any]:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


ATTRIBUTE_TYPES: dict[str, dict[str, Any]] = {
    "String": {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "AttributeType": "String",
        "AttributeTypeName": {"Value": "StringType"},
        "FormatName": {"Value": "Text"},
    },
    "Memo": {
        "@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata",
        "AttributeType": "Memo",
        "AttributeTypeName": {"Value": "MemoType"},
        "Format": "TextArea",
    },
    "DateTime": {
        "@odata.type": "Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
        "AttributeType": "DateTime",
        "AttributeTypeName": {"Value": "DateTimeType"},
        "Format": "DateAndTime",
        "DateTimeBehavior": {"Value": "UserLocal"},
    },
    "Integer": {
        "@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata",
        "AttributeType": "Integer",
        "AttributeTypeName": {"Value": "IntegerType"},
        "Format": "None",
    },
    "Decimal": {
        "@odata.type": "Microsoft.Dynamics.CRM.DecimalAttributeMetadata",
        "AttributeType": "Decimal",
        "AttributeTypeName": {"Value": "DecimalType"},
        "Precision": 2,
        "MinValue": -100000000000.0,
        "MaxValue": 100000000000.0,
    },
    "Picklist": {
        "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        "AttributeType": "Picklist",
        "AttributeTypeName": {"Value": "PicklistType"},
    },
    "Boolean": {
        "@odata.type": "Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
        "AttributeType": "Boolean",
        "AttributeTypeName": {"Value": "BooleanType"},
        "DefaultValue": False,
        "OptionSet": {
            "TrueOption": {"Value": 1, "Label": _label("Yes")},
            "FalseOption": {"Value": 0, "Label": _label("No")},
            "OptionSetType": "Boolean",
        },
    },
}


def attribute_definition(column: CustomColumn) -> dict[str, Any]:
    """The Metadata API body creating `column` (minimal; the schema step owns the full story)."""
    if column.type not in ATTRIBUTE_TYPES:
        known = ", ".join(sorted(ATTRIBUTE_TYPES))
        raise SchemaError(
            f"custom column {column.name}: type {column.type!r} is not one of {known}"
        )
    label = column.label or column.name
    definition = {
        **ATTRIBUTE_TYPES[column.type],
        "SchemaName": column.name,
        "DisplayName": _label(label),
        "RequiredLevel": {"Value": "None", "CanBeChanged": True},
    }
    if column.type == "Picklist":
        definition["OptionSet"] = {
            "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
            "IsGlobal": False,
            "OptionSetType": "Picklist",
            "Options": [{"Value": value, "Label": _label(text)} for value, text in column.options],
        }
    if column.type == "DateTime" and column.format == "DateOnly":
        definition |= {"Format": "DateOnly", "DateTimeBehavior": {"Value": "DateOnly"}}
    if column.type in {"String", "Memo"}:
        definition["MaxLength"] = column.max_length or (100 if column.type == "String" else 2000)
    return definition


def ensure_custom_columns(
    client: DataverseClient, specs: Sequence[TableSpec], *, solution: str | None = None
) -> list[str]:
    """Create every declared custom column the target lacks; returns `table.column` created."""
    created = []
    for spec in specs:
        if not spec.custom_columns:
            continue
        definitions = [(c.name, attribute_definition(c)) for c in spec.custom_columns]
        existing = client.entity_attributes(spec.table)
        for name, definition in definitions:
            if name not in existing:
                client.create_attribute(spec.table, definition, solution=solution)
                created.append(f"{spec.table}.{name}")
    return created

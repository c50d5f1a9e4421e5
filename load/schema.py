"""The target schema as code: declared, planned against an environment, applied.

The declared schema is `models/marts/dataverse/_dataverse__schema.yml` (custom tables,
relationships, alternate keys) merged with each mart's `meta.dataverse.custom_columns`; the
publisher prefix, solution and licence tier are dbt_project.yml vars. `plan_schema` reads
EntityDefinitions and lists what is missing; `apply_schema` creates it through the Metadata API
in the solution (tables, columns, relationships, keys), waits for key indexes to be Active and
publishes. `ensure_custom_columns` is the loader's minimal safety net: columns only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml  # type: ignore[import-untyped]

from load.client import DataverseClient, RecordError, odata_string
from load.manifest import CustomColumn, TableSpec

__all__ = [
    "SchemaError",
    "SchemaTierError",
    "ATTRIBUTE_TYPES",
    "TIER_LIMITS",
    "attribute_definition",
    "ensure_custom_columns",
    "SchemaSettings",
    "AlternateKey",
    "DeclaredTable",
    "DeclaredRelationship",
    "DeclaredSchema",
    "load_declared_schema",
    "declared_schema",
    "TableMetadata",
    "read_table",
    "custom_table_names",
    "option_values",
    "SchemaAction",
    "SchemaConflict",
    "SchemaPlan",
    "plan_schema",
    "ApplyResult",
    "apply_schema",
    "wait_for_keys",
    "publish",
    "ensure_solution",
]


class SchemaError(Exception):
    """The declared schema is invalid, or the environment cannot be brought in line with it."""


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


# ---------------------------------------------------------------------------------------------
# The declared target schema, its plan against an environment, and applying it.
# ---------------------------------------------------------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROJECT_FILE = PROJECT_ROOT / "dbt_project.yml"
DEFAULT_SCHEMA_FILE = PROJECT_ROOT / "models" / "marts" / "dataverse" / "_dataverse__schema.yml"

# Custom tables each licence tier allows (None: no limit). Dynamics 365 Sales Professional
# allows 15 custom tables; Enterprise and Premium have no such cap.
TIER_LIMITS: dict[str, int | None] = {"professional": 15, "enterprise": None, "premium": None}


class SchemaTierError(SchemaError):
    """The plan would take the environment past its licence tier's custom-table limit."""


@dataclass(frozen=True)
class SchemaSettings:
    """The one publisher prefix, solution and licence tier (dbt_project.yml vars)."""

    prefix: str = "mig"
    solution: str = "crmmigration"
    tier: str = "professional"

    @property
    def custom_table_limit(self) -> int | None:
        return TIER_LIMITS[self.tier]

    @classmethod
    def from_project(
        cls, project_file: Path = DEFAULT_PROJECT_FILE, *, tier: str | None = None
    ) -> SchemaSettings:
        try:
            project = yaml.safe_load(Path(project_file).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise SchemaError(f"cannot read {project_file}: {exc}") from exc
        variables = project.get("vars") or {}
        settings = cls(
            prefix=str(variables.get("dataverse_publisher_prefix") or cls.prefix),
            solution=str(variables.get("dataverse_solution") or cls.solution),
            tier=str(tier or variables.get("dataverse_licence_tier") or cls.tier).lower(),
        )
        if settings.tier not in TIER_LIMITS:
            raise SchemaError(
                f"licence tier {settings.tier!r} is unknown: set dataverse_licence_tier in "
                f"{project_file} to one of {', '.join(TIER_LIMITS)}"
            )
        if not re.fullmatch(r"[a-z][a-z0-9]{1,7}", settings.prefix):
            raise SchemaError(
                f"publisher prefix {settings.prefix!r} must be 2-8 lowercase letters or digits, "
                "starting with a letter (dataverse_publisher_prefix in dbt_project.yml)"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", settings.solution):
            raise SchemaError(
                f"solution name {settings.solution!r} may hold only letters, digits and "
                "underscores (dataverse_solution in dbt_project.yml)"
            )
        return settings


@dataclass(frozen=True)
class AlternateKey:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class DeclaredTable:
    name: str
    custom: bool = False  # a custom table the schema step creates
    display_name: str | None = None
    plural_name: str | None = None
    ownership: str = "UserOwned"
    primary_name: CustomColumn | None = None  # custom tables: the primary name column
    columns: tuple[CustomColumn, ...] = ()
    alternate_keys: tuple[AlternateKey, ...] = ()
    models: tuple[str, ...] = ()  # custom tables: the marts that need it (empty: always)


@dataclass(frozen=True)
class DeclaredRelationship:
    name: str
    referenced: str  # the "one" side: the table the lookup points at
    referencing: str  # the "many" side: the table that gets the lookup column
    lookup: str  # the lookup column's logical name
    label: str | None = None
    models: tuple[str, ...] = ()  # the marts that need it (empty: whenever both tables are)


@dataclass(frozen=True)
class DeclaredSchema:
    settings: SchemaSettings
    tables: tuple[DeclaredTable, ...]
    relationships: tuple[DeclaredRelationship, ...] = ()

    def table(self, name: str) -> DeclaredTable | None:
        return next((t for t in self.tables if t.name == name), None)


def load_declared_schema(
    specs: Sequence[TableSpec],
    *,
    schema_file: Path = DEFAULT_SCHEMA_FILE,
    settings: SchemaSettings | None = None,
) -> DeclaredSchema:
    """The schema file merged with the marts' `custom_columns`; every name checked.

    Scoped to the enabled marts (`specs`, from the manifest): a custom table or relationship
    that lists `models:` is kept only when one of those marts is enabled (or, for a table, when
    an enabled mart loads it), and a relationship only when both its tables are kept. So an
    OpenCRM build never plans the CorePlus custom tables or their lookups."""
    settings = settings or SchemaSettings.from_project()
    try:
        data = yaml.safe_load(Path(schema_file).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SchemaError(f"cannot read the declared schema {schema_file}: {exc}") from exc
    return declared_schema(data, specs, settings, source=str(schema_file))


def declared_schema(
    data: Mapping[str, Any],
    specs: Sequence[TableSpec],
    settings: SchemaSettings,
    *,
    source: str = "the declared schema",
) -> DeclaredSchema:
    tables: dict[str, DeclaredTable] = {}
    for name, item in (data.get("tables") or {}).items():
        tables[name] = DeclaredTable(
            name=name,
            columns=tuple(
                _column(c, f"{source}: {name}") for c in (item or {}).get("columns") or ()
            ),
            alternate_keys=_keys((item or {}).get("alternate_keys"), name, source),
        )
    for item in data.get("custom_tables") or ():
        name = _name(item, "name", source)
        if name in tables:
            raise SchemaError(f"{source}: table {name} is declared twice")
        primary = item.get("primary_name") or {"name": f"{settings.prefix}_name"}
        tables[name] = DeclaredTable(
            name=name,
            custom=True,
            display_name=item.get("display_name") or name,
            plural_name=item.get("plural_name") or f"{item.get('display_name') or name}s",
            ownership=item.get("ownership") or "UserOwned",
            primary_name=_column({"type": "String", **primary}, f"{source}: {name}"),
            columns=tuple(_column(c, f"{source}: {name}") for c in item.get("columns") or ()),
            alternate_keys=_keys(item.get("alternate_keys"), name, source),
            models=_models(item, source),
        )
    for spec in specs:  # the marts' custom columns
        table = tables.get(spec.table) or DeclaredTable(name=spec.table)
        columns = {c.name: c for c in table.columns}
        for column in spec.custom_columns:
            known = columns.get(column.name)
            if known is not None and known != column:
                raise SchemaError(
                    f"{spec.table}.{column.name} is declared differently in {source} and in "
                    f"{spec.model}'s custom_columns: keep one declaration"
                )
            columns[column.name] = column
        keys = table.alternate_keys
        if spec.source_key and not any(k.columns == (spec.source_key,) for k in keys):
            # the contract: every source-key column has an alternate key <column>_key
            keys += (AlternateKey(f"{spec.source_key}_key", (spec.source_key,)),)
        tables[spec.table] = replace(table, columns=tuple(columns.values()), alternate_keys=keys)
    relationships = tuple(
        DeclaredRelationship(
            name=_name(item, "name", source),
            referenced=_name(item, "referenced", source),
            referencing=_name(item, "referencing", source),
            lookup=_name(item, "lookup", source),
            label=item.get("label"),
            models=_models(item, source),
        )
        for item in data.get("relationships") or ()
    )
    _check_names(DeclaredSchema(settings, tuple(tables.values()), relationships))
    return _in_scope(DeclaredSchema(settings, tuple(tables.values()), relationships), specs)


def _models(item: Mapping[str, Any], source: str) -> tuple[str, ...]:
    models = item.get("models") or ()
    if isinstance(models, str) or not all(isinstance(m, str) for m in models):
        raise SchemaError(f"{source}: models of {item.get('name')!r} must be a list of mart names")
    return tuple(models)


def _in_scope(schema: DeclaredSchema, specs: Sequence[TableSpec]) -> DeclaredSchema:
    """Drop the custom tables and relationships no enabled mart needs (see load_declared_schema)."""
    enabled = {spec.model for spec in specs}
    loaded = {spec.table for spec in specs}
    dropped = {
        t.name
        for t in schema.tables
        if t.custom and t.models and t.name not in loaded and not enabled.intersection(t.models)
    }
    relationships = tuple(
        rel
        for rel in schema.relationships
        if rel.referenced not in dropped
        and rel.referencing not in dropped
        and (not rel.models or enabled.intersection(rel.models))
    )
    tables = tuple(t for t in schema.tables if t.name not in dropped)
    return DeclaredSchema(schema.settings, tables, relationships)


def _name(item: Mapping[str, Any], key: str, source: str) -> str:
    value = item.get(key) if isinstance(item, Mapping) else None
    if not value or not isinstance(value, str):
        raise SchemaError(f"{source}: {item!r} has no {key}")
    return value


def _column(item: Mapping[str, Any], where: str) -> CustomColumn:
    max_length = item.get("max_length")
    column = CustomColumn(
        name=_name(item, "name", where),
        type=_name(item, "type", where),
        max_length=int(max_length) if max_length is not None else None,
        label=item.get("label"),
        format=item.get("format"),
        options=tuple((int(o["value"]), str(o["label"])) for o in item.get("options") or ()),
    )
    attribute_definition(column)  # refuses an unknown type now, not halfway through an apply
    return column


def _keys(items: Any, table: str, source: str) -> tuple[AlternateKey, ...]:
    keys = []
    for item in items or ():
        columns = item.get("columns") if isinstance(item, Mapping) else None
        if not columns or not isinstance(columns, list):
            raise SchemaError(f"{source}: alternate key {item!r} on {table} lists no columns")
        keys.append(AlternateKey(_name(item, "name", source), tuple(str(c) for c in columns)))
    return tuple(keys)


def _check_names(schema: DeclaredSchema) -> None:
    prefix = schema.settings.prefix + "_"
    custom_names: list[tuple[str, str]] = []
    for table in schema.tables:
        if table.custom:
            custom_names.append(("table", table.name))
            if table.primary_name is not None:
                custom_names.append(("column", f"{table.name}.{table.primary_name.name}"))
        custom_names += [("column", f"{table.name}.{c.name}") for c in table.columns]
        custom_names += [("alternate key", f"{table.name}.{k.name}") for k in table.alternate_keys]
    for rel in schema.relationships:
        custom_names += [("relationship", rel.name), ("lookup", f"{rel.referencing}.{rel.lookup}")]
    for kind, name in custom_names:
        if not name.rsplit(".", 1)[-1].startswith(prefix):
            raise SchemaError(
                f"{kind} {name} does not begin with the publisher prefix {prefix!r}: rename it "
                "(or change dataverse_publisher_prefix in dbt_project.yml)"
            )


# -- what the environment has -------------------------------------------------------------


@dataclass
class TableMetadata:
    """One table as EntityDefinitions describes it."""

    name: str
    entity_set: str
    primary_id: str
    is_custom: bool
    is_managed: bool
    is_activity: bool
    attributes: dict[str, dict[str, Any]]
    keys: dict[str, dict[str, Any]]
    many_to_one: list[dict[str, Any]]

    def navigation(self, name: str) -> list[dict[str, Any]]:
        """The many-to-one relationships bound through navigation property `name`."""
        return [
            r for r in self.many_to_one if r.get("ReferencingEntityNavigationPropertyName") == name
        ]


OPTION_SET_CASTS = (
    "PicklistAttributeMetadata",
    "StateAttributeMetadata",
    "StatusAttributeMetadata",
    "BooleanAttributeMetadata",
)


def custom_table_names(client: DataverseClient) -> set[str]:
    """Unmanaged custom tables: what the licence tier's custom-table limit counts."""
    response = client.request(
        "GET",
        "EntityDefinitions",
        params={
            "$select": "LogicalName,IsCustomEntity,IsManaged",
            "$filter": "IsCustomEntity eq true",
        },
    )
    return {
        row["LogicalName"]
        for row in response.json().get("value", [])
        if row.get("IsCustomEntity") and not row.get("IsManaged")
    }


def read_table(
    client: DataverseClient, name: str, *, option_sets: bool = True
) -> TableMetadata | None:
    """A table's attributes (with option sets), alternate keys and lookups; None if absent."""
    base = f"EntityDefinitions(LogicalName={odata_string(name)})"
    response = client.request(
        "GET",
        base,
        params={
            "$select": (
                "LogicalName,EntitySetName,PrimaryIdAttribute,IsCustomEntity,IsManaged,IsActivity"
            )
        },
        accept=(404,),
    )
    if response.status_code == 404:
        return None
    table = response.json()
    attributes = {
        row["LogicalName"]: row
        for row in client.request("GET", f"{base}/Attributes").json().get("value", [])
    }
    if option_sets:
        for cast in OPTION_SET_CASTS:
            rows = (
                client.request(
                    "GET",
                    f"{base}/Attributes/Microsoft.Dynamics.CRM.{cast}",
                    params={"$expand": "OptionSet"},
                )
                .json()
                .get("value", [])
            )
            for row in rows:
                if row.get("LogicalName") in attributes and row.get("OptionSet") is not None:
                    attributes[row["LogicalName"]]["OptionSet"] = row["OptionSet"]
    keys = {
        row["LogicalName"]: row
        for row in client.request("GET", f"{base}/Keys").json().get("value", [])
    }
    many_to_one = client.request("GET", f"{base}/ManyToOneRelationships").json().get("value", [])
    return TableMetadata(
        name=table["LogicalName"],
        entity_set=table.get("EntitySetName") or "",
        primary_id=table.get("PrimaryIdAttribute") or f"{name}id",
        is_custom=bool(table.get("IsCustomEntity")),
        is_managed=bool(table.get("IsManaged")),
        is_activity=bool(table.get("IsActivity")),
        attributes=attributes,
        keys=keys,
        many_to_one=many_to_one,
    )


def option_values(attribute: Mapping[str, Any]) -> dict[int, str]:
    """value → label of a Picklist/State/Status/Boolean column's options."""
    option_set = attribute.get("OptionSet") or {}
    options = list(option_set.get("Options") or ())
    options += [option_set[k] for k in ("TrueOption", "FalseOption") if option_set.get(k)]
    return {
        int(o["Value"]): _label_text(o.get("Label")) for o in options if o.get("Value") is not None
    }


def _label_text(label: Any) -> str:
    if isinstance(label, Mapping):
        user = label.get("UserLocalizedLabel") or {}
        if user.get("Label"):
            return str(user["Label"])
        localized = label.get("LocalizedLabels") or []
        return str(localized[0].get("Label")) if localized else ""
    return str(label or "")


# -- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaAction:
    """One Metadata API call the plan makes: kind ∈ table, column, relationship, key."""

    kind: str
    table: str
    name: str
    detail: str
    body: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def describe(self) -> str:
        return f"create {self.kind} {self.table}.{self.name}" + (
            f" ({self.detail})" if self.detail else ""
        )


@dataclass(frozen=True)
class SchemaConflict:
    """Something declared that exists in Dataverse but differently: not changed automatically."""

    table: str
    name: str
    message: str
    fix: str


@dataclass
class SchemaPlan:
    settings: SchemaSettings
    actions: list[SchemaAction]
    conflicts: list[SchemaConflict]
    custom_tables_existing: set[str]
    pending_keys: list[tuple[str, str]]  # (table, key) declared, existing, not yet Active

    @property
    def new_custom_tables(self) -> list[str]:
        return [a.table for a in self.actions if a.kind == "table"]

    @property
    def custom_tables_after(self) -> int:
        return len(self.custom_tables_existing | set(self.new_custom_tables))

    @property
    def over_limit(self) -> bool:
        limit = self.settings.custom_table_limit
        return (
            limit is not None and self.new_custom_tables != [] and self.custom_tables_after > limit
        )

    @property
    def tier_message(self) -> str:
        limit = self.settings.custom_table_limit
        count = (
            f"{len(self.custom_tables_existing)} custom tables exist, the plan adds "
            f"{len(self.new_custom_tables)}: {self.custom_tables_after} in all"
        )
        if limit is None:
            return f"{count}; the {self.settings.tier} tier has no custom-table limit"
        return f"{count}; the {self.settings.tier} tier allows {limit}"

    @property
    def changes_nothing(self) -> bool:
        return not self.actions and not self.pending_keys

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.settings.prefix,
            "solution": self.settings.solution,
            "tier": self.settings.tier,
            "custom_table_limit": self.settings.custom_table_limit,
            "custom_tables_existing": sorted(self.custom_tables_existing),
            "custom_tables_after": self.custom_tables_after,
            "over_limit": self.over_limit,
            "actions": [
                {"kind": a.kind, "table": a.table, "name": a.name, "detail": a.detail}
                for a in self.actions
            ],
            "conflicts": [vars(c) for c in self.conflicts],
            "pending_keys": [list(k) for k in self.pending_keys],
        }


def plan_schema(client: DataverseClient, schema: DeclaredSchema) -> SchemaPlan:
    """Compare the declared schema with the environment's EntityDefinitions."""
    settings = schema.settings
    plan = SchemaPlan(settings, [], [], custom_table_names(client), [])
    environment: dict[str, TableMetadata | None] = {}

    def table_meta(name: str) -> TableMetadata | None:
        if name not in environment:
            environment[name] = read_table(client, name)
        return environment[name]

    for table in schema.tables:
        meta = table_meta(table.name)
        if meta is None and not table.custom:
            plan.conflicts.append(
                SchemaConflict(
                    table.name,
                    table.name,
                    f"table {table.name} does not exist in this environment",
                    "check the table name, or declare it under custom_tables to create it",
                )
            )
            continue
        if meta is None:
            plan.actions.append(_table_action(table))
            existing: dict[str, dict[str, Any]] = {}
            existing_keys: dict[str, dict[str, Any]] = {}
        else:
            existing, existing_keys = meta.attributes, meta.keys
        for column in table.columns:
            if column.name in existing:
                conflict = _column_conflict(table.name, column, existing[column.name])
                if conflict is not None:
                    plan.conflicts.append(conflict)
            else:
                plan.actions.append(
                    SchemaAction(
                        "column",
                        table.name,
                        column.name,
                        _column_detail(column),
                        attribute_definition(column),
                    )
                )
        available = set(existing) | {c.name for c in table.columns}
        for key in table.alternate_keys:
            found = existing_keys.get(key.name)
            unknown = [c for c in key.columns if c not in available]
            if found is None and unknown:
                plan.conflicts.append(
                    SchemaConflict(
                        table.name,
                        key.name,
                        f"alternate key {table.name}.{key.name} is on {', '.join(unknown)}, "
                        "which neither exists nor is declared",
                        "declare the column (a mart's custom_columns or this table's columns "
                        "in the declared schema), or remove the key",
                    )
                )
            elif found is None:
                plan.actions.append(
                    SchemaAction(
                        "key",
                        table.name,
                        key.name,
                        f"on {', '.join(key.columns)}",
                        {
                            "SchemaName": key.name,
                            "DisplayName": _label(key.name),
                            "KeyAttributes": list(key.columns),
                        },
                    )
                )
            elif tuple(found.get("KeyAttributes") or ()) != key.columns:
                plan.conflicts.append(
                    SchemaConflict(
                        table.name,
                        key.name,
                        f"alternate key {table.name}.{key.name} is on "
                        f"{', '.join(found.get('KeyAttributes') or ())}, declared on "
                        f"{', '.join(key.columns)}",
                        "delete the key in Dataverse and re-run `crm-migrate schema apply`",
                    )
                )
            elif found.get("EntityKeyIndexStatus") != "Active":
                plan.pending_keys.append((table.name, key.name))
    for rel in schema.relationships:
        referencing = table_meta(rel.referencing)
        referenced = table_meta(rel.referenced)
        declared_referenced = schema.table(rel.referenced)
        if referenced is None and not (declared_referenced and declared_referenced.custom):
            plan.conflicts.append(
                SchemaConflict(
                    rel.referencing,
                    rel.name,
                    f"relationship {rel.name} points at {rel.referenced}, which does not exist",
                    "declare the table under custom_tables or fix `referenced`",
                )
            )
            continue
        if referencing is not None and rel.lookup in referencing.attributes:
            attribute = referencing.attributes[rel.lookup]
            if rel.referenced not in (attribute.get("Targets") or [rel.referenced]):
                plan.conflicts.append(
                    SchemaConflict(
                        rel.referencing,
                        rel.lookup,
                        f"lookup {rel.referencing}.{rel.lookup} points at "
                        f"{', '.join(attribute.get('Targets') or [])}, declared {rel.referenced}",
                        "rename the declared lookup, or delete the column in Dataverse",
                    )
                )
            continue
        primary_id = referenced.primary_id if referenced else f"{rel.referenced}id"
        plan.actions.append(
            SchemaAction(
                "relationship",
                rel.referencing,
                rel.lookup,
                f"{rel.name} → {rel.referenced}",
                _relationship_definition(rel, primary_id),
            )
        )
    return plan


def _table_action(table: DeclaredTable) -> SchemaAction:
    assert table.primary_name is not None
    primary = attribute_definition(table.primary_name) | {
        "IsPrimaryName": True,
        "RequiredLevel": {"Value": "ApplicationRequired", "CanBeChanged": True},
    }
    body = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": table.name,
        "DisplayName": _label(table.display_name or table.name),
        "DisplayCollectionName": _label(table.plural_name or table.name),
        "Description": _label(f"Created by crm-migrate for {table.display_name or table.name}"),
        "OwnershipType": table.ownership,
        "IsActivity": False,
        "HasActivities": False,
        "HasNotes": False,
        "Attributes": [primary],
    }
    return SchemaAction("table", table.name, table.name, table.display_name or "", body)


def _relationship_definition(
    rel: DeclaredRelationship, referenced_attribute: str
) -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": rel.name,
        "ReferencedEntity": rel.referenced,
        "ReferencedAttribute": referenced_attribute,
        "ReferencingEntity": rel.referencing,
        "CascadeConfiguration": {
            "Assign": "NoCascade",
            "Delete": "RemoveLink",
            "Merge": "NoCascade",
            "Reparent": "NoCascade",
            "Share": "NoCascade",
            "Unshare": "NoCascade",
        },
        "Lookup": {
            "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
            "AttributeType": "Lookup",
            "AttributeTypeName": {"Value": "LookupType"},
            "SchemaName": rel.lookup,
            "DisplayName": _label(rel.label or rel.lookup),
            "RequiredLevel": {"Value": "None", "CanBeChanged": True},
        },
    }


def _column_detail(column: CustomColumn) -> str:
    detail = column.type
    if column.type in {"String", "Memo"}:
        detail += f"({column.max_length or (100 if column.type == 'String' else 2000)})"
    if column.format:
        detail += f", {column.format}"
    if column.options:
        detail += ", options " + ", ".join(f"{v} {t}" for v, t in column.options)
    return detail


def _column_conflict(
    table: str, column: CustomColumn, attribute: Mapping[str, Any]
) -> SchemaConflict | None:
    actual = attribute.get("AttributeType")
    if actual != column.type:
        return SchemaConflict(
            table,
            column.name,
            f"{table}.{column.name} exists as {actual}, declared {column.type}",
            "change the declaration to match, or delete the column in Dataverse and re-apply",
        )
    if column.type in {"String", "Memo"}:
        declared = column.max_length or (100 if column.type == "String" else 2000)
        existing = attribute.get("MaxLength")
        if isinstance(existing, int) and existing < declared:
            return SchemaConflict(
                table,
                column.name,
                f"{table}.{column.name} holds {existing} characters, declared {declared}",
                f"raise its maximum length to {declared} in Dataverse (maker portal, column "
                "properties), or lower max_length in the declaration",
            )
    if column.type == "Picklist":
        missing = sorted(set(dict(column.options)) - set(option_values(attribute)))
        if missing:
            return SchemaConflict(
                table,
                column.name,
                f"{table}.{column.name} lacks the declared options {', '.join(map(str, missing))}",
                "add the options to the choice in Dataverse (InsertOptionValue or the maker "
                "portal), or remove them from the declaration",
            )
    return None


# -- applying -------------------------------------------------------------------------------


@dataclass
class ApplyResult:
    plan: SchemaPlan
    done: list[SchemaAction] = field(default_factory=list)
    keys_active: list[tuple[str, str]] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    solution_note: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.done)


def apply_schema(
    client: DataverseClient,
    plan: SchemaPlan,
    *,
    key_timeout: float = 600.0,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyResult:
    """Create what `plan` lists, in the named solution, wait for key indexes, then publish.

    Refuses (SchemaTierError) before any call when the plan exceeds the tier's limit."""
    if plan.over_limit:
        raise SchemaTierError(
            f"refusing to apply: {plan.tier_message}. Remove custom tables from the declared "
            "schema (map objects to standard tables instead), delete unused custom tables in "
            "Dataverse, or, if the environment is licensed for more, set "
            "dataverse_licence_tier in dbt_project.yml (or pass --tier)"
        )
    result = ApplyResult(plan)
    solution = plan.settings.solution
    if plan.actions:
        result.solution_note = ensure_solution(client, plan.settings)
    headers = {"MSCRM.SolutionUniqueName": solution}
    order = {"table": 0, "column": 1, "relationship": 2, "key": 3}
    for action in sorted(plan.actions, key=lambda a: order[a.kind]):
        table_path = f"EntityDefinitions(LogicalName={odata_string(action.table)})"
        if action.kind == "table":
            client.request("POST", "EntityDefinitions", json=action.body, headers=headers)
        elif action.kind == "column":
            client.create_attribute(action.table, action.body, solution=solution)
        elif action.kind == "relationship":
            client.request("POST", "RelationshipDefinitions", json=action.body, headers=headers)
        else:
            client.request("POST", f"{table_path}/Keys", json=action.body, headers=headers)
        result.done.append(action)
    waiting = [(a.table, a.name) for a in plan.actions if a.kind == "key"] + plan.pending_keys
    result.keys_active = wait_for_keys(
        client, waiting, timeout=key_timeout, poll=poll, sleep=sleep, clock=clock
    )
    touched = sorted({a.table for a in result.done})
    if touched:
        publish(client, touched)
        result.published = touched
    return result


def wait_for_keys(
    client: DataverseClient,
    keys: Sequence[tuple[str, str]],
    *,
    timeout: float = 600.0,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[tuple[str, str]]:
    """Poll each (table, key) until its index is Active; raise if one Fails or time runs out."""
    deadline = clock() + timeout
    waiting = list(keys)
    active: list[tuple[str, str]] = []
    while waiting:
        still = []
        for table, key in waiting:
            response = client.request(
                "GET",
                f"EntityDefinitions(LogicalName={odata_string(table)})/Keys(LogicalName={odata_string(key)})",
                params={"$select": "LogicalName,EntityKeyIndexStatus"},
            )
            status = response.json().get("EntityKeyIndexStatus")
            if status == "Active":
                active.append((table, key))
            elif status == "Failed":
                raise SchemaError(
                    f"alternate key {table}.{key} failed to build its index: existing "
                    f"{table} records share a value. Find the duplicates, fix or delete them, "
                    "then reactivate the key (ReactivateEntityKey) or delete it and re-apply"
                )
            else:
                still.append((table, key))
        waiting = still
        if waiting:
            if clock() >= deadline:
                names = ", ".join(f"{t}.{k}" for t, k in waiting)
                raise SchemaError(
                    f"alternate keys still not Active after {timeout:.0f} s: {names}. Dataverse "
                    "builds key indexes in a background job; re-run `crm-migrate schema apply` "
                    "later (it waits for them and changes nothing else)"
                )
            sleep(poll)
    return active


def publish(client: DataverseClient, tables: Sequence[str]) -> None:
    """PublishXml for the tables changed (PublishAllXml when given none)."""
    if not tables:
        client.request("POST", "PublishAllXml")
        return
    entities = "".join(f"<entity>{escape(t)}</entity>" for t in tables)
    client.request(
        "POST",
        "PublishXml",
        json={
            "ParameterXml": f"<importexportxml><entities>{entities}</entities></importexportxml>"
        },
    )


def ensure_solution(client: DataverseClient, settings: SchemaSettings) -> str | None:
    """Make sure the solution (and a publisher with the prefix) exists; a note if unverifiable."""
    try:
        rows = next(
            client.get_pages(
                "solutions",
                ["solutionid", "uniquename"],
                filter=f"uniquename eq {odata_string(settings.solution)}",
            )
        )
    except RecordError as exc:
        if exc.status == 404:
            return (
                "this environment exposes no solutions table: components are created with "
                f"MSCRM.SolutionUniqueName {settings.solution} only"
            )
        raise
    if rows:
        return None
    publisher_name = f"{settings.prefix}publisher"
    publishers = next(
        client.get_pages(
            "publishers",
            ["publisherid", "customizationprefix"],
            filter=f"customizationprefix eq {odata_string(settings.prefix)}",
        )
    )
    if publishers:
        publisher_id = publishers[0]["publisherid"]
    else:
        response = client.request(
            "POST",
            "publishers",
            json={
                "uniquename": publisher_name,
                "friendlyname": f"CRM migration ({settings.prefix})",
                "customizationprefix": settings.prefix,
                "customizationoptionvalueprefix": 10000 + sum(map(ord, settings.prefix)) % 89999,
            },
            headers={"Prefer": "return=representation"},
        )
        publisher_id = response.json()["publisherid"]
    client.request(
        "POST",
        "solutions",
        json={
            "uniquename": settings.solution,
            "friendlyname": settings.solution,
            "version": "1.0.0.0",
            "publisherid@odata.bind": f"/publishers({publisher_id})",
        },
    )
    return f"created solution {settings.solution}"

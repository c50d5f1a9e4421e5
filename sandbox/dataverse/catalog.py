"""Table metadata: loaded once from `metadata/tables/*.json` (plus what the Metadata API creates),
indexed for the Web API, and rendered as EntityDefinitions.

Everything a write needs (entity set, navigation properties, option values, per-column converters)
is computed when a table is added, so requests never re-read the JSON.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

DEFAULT_METADATA_DIR = Path(__file__).parent / "metadata" / "tables"
LOOKUP_TYPES = frozenset({"Lookup", "Customer", "Owner"})
PICKLIST_TYPES = frozenset({"Picklist", "State", "Status"})
# Attribute types the Web API never accepts directly in a write payload.
NOT_WRITABLE_TYPES = frozenset(
    {"Virtual", "Image", "File", "ManagedProperty", "PartyList", "CalendarRules"}
)
METADATA_NAMESPACE = "Microsoft.Dynamics.CRM"
_METADATA_NAMESPACE_UUID = uuid.UUID("6ba7b812-9dad-11d1-80b4-00c04fd430c8")

ATTRIBUTE_ODATA_TYPES = {
    "String": "StringAttributeMetadata",
    "Memo": "MemoAttributeMetadata",
    "Integer": "IntegerAttributeMetadata",
    "BigInt": "BigIntAttributeMetadata",
    "Decimal": "DecimalAttributeMetadata",
    "Double": "DoubleAttributeMetadata",
    "Money": "MoneyAttributeMetadata",
    "DateTime": "DateTimeAttributeMetadata",
    "Boolean": "BooleanAttributeMetadata",
    "Picklist": "PicklistAttributeMetadata",
    "State": "StateAttributeMetadata",
    "Status": "StatusAttributeMetadata",
    "Lookup": "LookupAttributeMetadata",
    "Customer": "LookupAttributeMetadata",
    "Owner": "LookupAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata",
    "EntityName": "EntityNameAttributeMetadata",
    "MultiSelectPicklist": "MultiSelectPicklistAttributeMetadata",
    "Image": "ImageAttributeMetadata",
    "File": "FileAttributeMetadata",
    "ManagedProperty": "ManagedPropertyAttributeMetadata",
}
ODATA_TYPE_TO_ATTRIBUTE_TYPE = {
    "StringAttributeMetadata": "String",
    "MemoAttributeMetadata": "Memo",
    "IntegerAttributeMetadata": "Integer",
    "BigIntAttributeMetadata": "BigInt",
    "DecimalAttributeMetadata": "Decimal",
    "DoubleAttributeMetadata": "Double",
    "MoneyAttributeMetadata": "Money",
    "DateTimeAttributeMetadata": "DateTime",
    "BooleanAttributeMetadata": "Boolean",
    "PicklistAttributeMetadata": "Picklist",
    "MultiSelectPicklistAttributeMetadata": "MultiSelectPicklist",
    "LookupAttributeMetadata": "Lookup",
    "UniqueIdentifierAttributeMetadata": "Uniqueidentifier",
    "FileAttributeMetadata": "File",
    "ImageAttributeMetadata": "Image",
}
EDM_TYPES = {
    "String": "Edm.String",
    "Memo": "Edm.String",
    "Integer": "Edm.Int32",
    "BigInt": "Edm.Int64",
    "Decimal": "Edm.Decimal",
    "Double": "Edm.Double",
    "Money": "Edm.Decimal",
    "DateTime": "Edm.DateTimeOffset",
    "Boolean": "Edm.Boolean",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "Uniqueidentifier": "Edm.Guid",
    "EntityName": "Edm.String",
    "MultiSelectPicklist": "Edm.String",
}
_GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_INT32 = (-2147483648, 2147483647)


class MetadataError(Exception):
    """Metadata that cannot be loaded or a definition the Metadata API refuses."""


class ValueRejected(Exception):
    """A column value the Web API refuses; carries Dataverse's status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def stable_metadata_id(*parts: str) -> str:
    """A MetadataId that stays the same across restarts for metadata loaded from files."""
    return str(uuid.uuid5(_METADATA_NAMESPACE_UUID, "/".join(parts)))


def label(text: str | None) -> dict[str, Any]:
    """A Dataverse Label object (LocalizedLabels + UserLocalizedLabel) in English."""
    if text is None:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {"Label": text, "LanguageCode": 1033, "IsManaged": False}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def label_text(value: Any) -> str | None:
    """The English text of a Label object (or a plain string)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        user = value.get("UserLocalizedLabel")
        if isinstance(user, dict) and user.get("Label"):
            return str(user["Label"])
        for localized in value.get("LocalizedLabels") or []:
            if isinstance(localized, dict) and localized.get("Label"):
                return str(localized["Label"])
    return None


# ---------------------------------------------------------------------------------------------
# Column converters: each turns a JSON value into the stored value or raises ValueRejected.

Converter = Callable[[Any], Any]


def _cannot_convert_literal(value: Any, edm_type: str) -> ValueRejected:
    return ValueRejected(
        400,
        "0x80060888",
        f"Cannot convert the literal '{value}' to the expected type '{edm_type}'.",
    )


def _cannot_convert_primitive(edm_type: str) -> ValueRejected:
    return ValueRejected(
        400,
        "0x80060888",
        f"Cannot convert a primitive value to the expected type '{edm_type}'. "
        "See the inner exception for more details.",
    )


def _string_converter(entity: str, attribute: str, max_length: int | None) -> Converter:
    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            raise _cannot_convert_primitive("Edm.String")
        if max_length is not None and len(value) > max_length:
            raise ValueRejected(
                400,
                "0x80044331",
                f"A validation error occurred.  The length of the '{attribute}' attribute of the "
                f"'{entity}' entity exceeded the maximum allowed length of '{max_length}'.",
            )
        return value

    return convert


def _integer_converter(edm_type: str, bounds: tuple[int, int]) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise _cannot_convert_literal(value, edm_type)
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError as error:
                raise _cannot_convert_literal(value, edm_type) from error
        if not isinstance(value, int | float):
            raise _cannot_convert_primitive(edm_type)
        number = int(value)
        if not bounds[0] <= number <= bounds[1]:
            raise _cannot_convert_literal(value, edm_type)
        return number

    return convert


# Dataverse's errors for a number outside the column's MinValue/MaxValue (the data service error
# codes of Microsoft Learn, `includes/data-service-error-codes.md`): IntegerValueOutOfRange,
# DecimalValueOutOfRange and, for money, MoneySizeExceeded. No code specific to Double columns is
# listed; DecimalValueOutOfRange is used for them.
INTEGER_OUT_OF_RANGE = (
    "0x8004432F",
    "A validation error occurred. An integer provided is outside of the allowed values for this "
    "attribute.",
)
DECIMAL_OUT_OF_RANGE = (
    "0x80044330",
    "A validation error occurred. A decimal value provided is outside of the allowed values for "
    "this attribute.",
)
MONEY_OUT_OF_RANGE = (
    "0x80040317",
    "Supplied value exceeded the MIN/MAX value of Money Type field.",
)
_RANGE_ERRORS = {
    "Integer": INTEGER_OUT_OF_RANGE,
    "BigInt": INTEGER_OUT_OF_RANGE,
    "Decimal": DECIMAL_OUT_OF_RANGE,
    "Double": DECIMAL_OUT_OF_RANGE,
    "Money": MONEY_OUT_OF_RANGE,
}
# What the type itself accepts: a MinValue/MaxValue at (or beyond) these needs no extra check.
_TYPE_LIMITS: dict[str, tuple[float, float]] = {
    "Integer": (_INT32[0], _INT32[1]),
    "BigInt": (-(2**63), 2**63 - 1),
}


def _bound(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _ranged(kind: str, raw: dict[str, Any], convert: Converter) -> Converter:
    """`convert`, then the column's MinValue/MaxValue (when the metadata narrows the type)."""
    low, high = _bound(raw.get("MinValue")), _bound(raw.get("MaxValue"))
    type_low, type_high = _TYPE_LIMITS.get(kind, (float("-inf"), float("inf")))
    if low is not None and low <= type_low:
        low = None
    if high is not None and high >= type_high:
        high = None
    if low is None and high is None:
        return convert
    code, message = _RANGE_ERRORS[kind]

    def checked(value: Any) -> Any:
        number = convert(value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueRejected(400, code, message)
        return number

    return checked


def _number_converter(edm_type: str) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, bool):
            raise _cannot_convert_literal(value, edm_type)
        if isinstance(value, int | float):
            return value
        if isinstance(value, str):
            try:
                number = Decimal(value)
            except InvalidOperation as error:
                raise _cannot_convert_literal(value, edm_type) from error
            return int(number) if number == number.to_integral_value() else float(number)
        raise _cannot_convert_primitive(edm_type)

    return convert


def _boolean_converter(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _cannot_convert_literal(value, "Edm.Boolean")


def _guid_converter(value: Any) -> Any:
    if isinstance(value, str) and _GUID_RE.match(value):
        return value.lower()
    raise _cannot_convert_literal(value, "Edm.Guid")


def _date_converter(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            pass
    raise _cannot_convert_literal(value, "Edm.Date")


def _datetime_converter(value: Any) -> Any:
    if isinstance(value, str):
        text = value.replace("z", "Z")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise _cannot_convert_literal(value, "Edm.DateTimeOffset")


def _option_converter(entity: str, attribute: str, allowed: frozenset[int]) -> Converter:
    integer = _integer_converter("Edm.Int32", _INT32)

    def convert(value: Any) -> Any:
        number = integer(value)
        if number not in allowed:
            raise ValueRejected(
                400,
                "0x8004431A",
                f"A validation error occurred.  The value {number} of '{attribute}' on record of "
                f"type '{entity}' is outside the valid range. Accepted Values: "
                f"{','.join(str(v) for v in sorted(allowed))}",
            )
        return number

    return convert


def _multi_option_converter(entity: str, attribute: str, allowed: frozenset[int]) -> Converter:
    single = _option_converter(entity, attribute, allowed)

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            raise _cannot_convert_primitive("Edm.String")
        parts = [part.strip() for part in value.split(",") if part.strip()]
        return ",".join(str(single(part)) for part in parts)

    return convert


def _text_converter(value: Any) -> Any:
    if not isinstance(value, str):
        raise _cannot_convert_primitive("Edm.String")
    return value


# ---------------------------------------------------------------------------------------------
# The indexed model


@dataclass
class AttributeMeta:
    logical_name: str
    schema_name: str
    attribute_type: str
    raw: dict[str, Any]
    metadata_id: str
    valid_for_create: bool
    valid_for_update: bool
    valid_for_read: bool
    targets: tuple[str, ...]
    options: dict[int, str]
    option_state: dict[int, int]  # statuscode value -> its statecode
    default_status: dict[int, int]  # statecode value -> its default statuscode
    converter: Converter | None

    @property
    def is_lookup(self) -> bool:
        return self.attribute_type in LOOKUP_TYPES

    @property
    def max_length(self) -> int | None:
        value = self.raw.get("MaxLength")
        return int(value) if isinstance(value, int) else None


@dataclass(frozen=True)
class Navigation:
    """A single-valued navigation property: the lookup column it sets and the tables it accepts."""

    name: str
    attribute: str
    targets: tuple[str, ...]
    relationship: str


@dataclass(frozen=True)
class CollectionNavigation:
    """A collection-valued navigation property: rows of `entity` whose `attribute` points here."""

    name: str
    entity: str
    attribute: str
    relationship: str


@dataclass
class KeyMeta:
    schema_name: str
    logical_name: str
    attributes: tuple[str, ...]
    metadata_id: str
    status: str = "Active"
    activate_at: float = 0.0
    solution: str | None = None

    def as_json(self, entity: str) -> dict[str, Any]:
        return {
            "@odata.type": "#Microsoft.Dynamics.CRM.EntityKeyMetadata",
            "MetadataId": self.metadata_id,
            "SchemaName": self.schema_name,
            "LogicalName": self.logical_name,
            "EntityLogicalName": entity,
            "KeyAttributes": list(self.attributes),
            "EntityKeyIndexStatus": self.status,
            "DisplayName": label(self.schema_name),
            "IsManaged": False,
            "IsCustomizable": {"Value": True, "CanBeChanged": True},
        }


@dataclass
class TableMeta:
    logical_name: str
    schema_name: str
    entity_set: str
    primary_id: str
    primary_name: str | None
    object_type_code: int
    is_activity: bool
    is_custom: bool
    metadata_id: str
    raw: dict[str, Any]
    messages: frozenset[str]
    attributes: dict[str, AttributeMeta] = field(default_factory=dict)
    navigations: dict[str, Navigation] = field(default_factory=dict)
    collections: dict[str, CollectionNavigation] = field(default_factory=dict)
    keys: list[KeyMeta] = field(default_factory=list)
    lookup_for_attribute: dict[str, str] = field(default_factory=dict)  # attribute -> nav name
    readable_columns: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:
        return f"{METADATA_NAMESPACE}.{self.logical_name}"

    @property
    def party_navigation(self) -> str | None:
        return f"{self.logical_name}_activity_parties" if self.is_activity else None

    def active_keys(self) -> list[KeyMeta]:
        return [key for key in self.keys if key.status == "Active"]


def _bool(raw: dict[str, Any], name: str, default: bool = True) -> bool:
    value = raw.get(name, default)
    if isinstance(value, dict):
        value = value.get("Value", default)
    return bool(value) if value is not None else default


def _options(raw: dict[str, Any]) -> tuple[dict[int, str], dict[int, int], dict[int, int]]:
    option_set = raw.get("OptionSet") or {}
    labels: dict[int, str] = {}
    states: dict[int, int] = {}
    defaults: dict[int, int] = {}
    for option in option_set.get("Options") or []:
        value = option.get("Value")
        if not isinstance(value, int):
            continue
        labels[value] = label_text(option.get("Label")) or str(value)
        if isinstance(option.get("State"), int):
            states[value] = option["State"]
        if isinstance(option.get("DefaultStatus"), int):
            defaults[value] = option["DefaultStatus"]
    for name, fallback in (("TrueOption", 1), ("FalseOption", 0)):
        boolean_option = option_set.get(name)
        if isinstance(boolean_option, dict):
            labels[int(boolean_option.get("Value", fallback))] = (
                label_text(boolean_option.get("Label")) or name[:-6]
            )
    return labels, states, defaults


def _converter_for(entity: str, raw: dict[str, Any], options: dict[int, str]) -> Converter | None:
    kind = raw.get("AttributeType")
    name = raw["LogicalName"]
    if kind in ("String", "Memo"):
        max_length = raw.get("MaxLength")
        return _string_converter(entity, name, max_length if isinstance(max_length, int) else None)
    if kind == "Integer":
        return _ranged(kind, raw, _integer_converter("Edm.Int32", _INT32))
    if kind == "BigInt":
        return _ranged(kind, raw, _integer_converter("Edm.Int64", (-(2**63), 2**63 - 1)))
    if kind in ("Decimal", "Money"):
        return _ranged(kind, raw, _number_converter("Edm.Decimal"))
    if kind == "Double":
        return _ranged(kind, raw, _number_converter("Edm.Double"))
    if kind == "Boolean":
        return _boolean_converter
    if kind == "DateTime":
        date_only = raw.get("DateTimeBehavior") == "DateOnly"
        return _date_converter if date_only else _datetime_converter
    if kind in PICKLIST_TYPES:
        return _option_converter(entity, name, frozenset(options))
    if kind == "MultiSelectPicklist":
        return _multi_option_converter(entity, name, frozenset(options))
    if kind == "Uniqueidentifier":
        return _guid_converter
    if kind == "EntityName":
        return _text_converter
    return None


def build_attribute(entity: str, raw: dict[str, Any]) -> AttributeMeta:
    options, option_state, default_status = _options(raw)
    name = raw["LogicalName"]
    kind = raw.get("AttributeType") or "String"
    return AttributeMeta(
        logical_name=name,
        schema_name=raw.get("SchemaName") or name,
        attribute_type=kind,
        raw=raw,
        metadata_id=raw.get("MetadataId") or stable_metadata_id(entity, name),
        valid_for_create=_bool(raw, "IsValidForCreate") and kind not in NOT_WRITABLE_TYPES,
        valid_for_update=_bool(raw, "IsValidForUpdate") and kind not in NOT_WRITABLE_TYPES,
        valid_for_read=_bool(raw, "IsValidForRead"),
        targets=tuple(raw.get("Targets") or ()),
        options=options,
        option_state=option_state,
        default_status=default_status,
        converter=_converter_for(entity, raw, options),
    )


def _key_from_json(entity: str, raw: dict[str, Any]) -> KeyMeta:
    schema_name = raw.get("SchemaName") or raw.get("LogicalName") or "key"
    return KeyMeta(
        schema_name=schema_name,
        logical_name=(raw.get("LogicalName") or schema_name).lower(),
        attributes=tuple(a.lower() for a in raw.get("KeyAttributes") or ()),
        metadata_id=raw.get("MetadataId") or stable_metadata_id(entity, "key", schema_name),
        status=raw.get("EntityKeyIndexStatus") or "Active",
    )


def build_table(raw: dict[str, Any]) -> TableMeta:
    """Index one table's JSON (the metadata file format) for the Web API."""
    entity = raw["LogicalName"]
    table = TableMeta(
        logical_name=entity,
        schema_name=raw.get("SchemaName") or entity,
        entity_set=raw.get("EntitySetName") or f"{entity}s",
        primary_id=raw.get("PrimaryIdAttribute") or f"{entity}id",
        primary_name=raw.get("PrimaryNameAttribute"),
        object_type_code=int(raw.get("ObjectTypeCode") or 0),
        is_activity=bool(raw.get("IsActivity")),
        is_custom=bool(raw.get("IsCustomEntity")),
        metadata_id=raw.get("MetadataId") or stable_metadata_id(entity),
        raw=raw,
        messages=frozenset(raw.get("Messages") or ()),
    )
    for attribute_json in raw.get("Attributes") or []:
        attribute = build_attribute(entity, attribute_json)
        table.attributes[attribute.logical_name] = attribute
    for relationship in raw.get("ManyToOne") or []:
        add_many_to_one(table, relationship)
    for relationship in raw.get("OneToMany") or []:
        add_one_to_many(table, relationship)
    _add_implicit_navigations(table)
    table.keys = [_key_from_json(entity, key) for key in raw.get("Keys") or []]
    refresh_columns(table)
    return table


def add_many_to_one(table: TableMeta, relationship: dict[str, Any]) -> None:
    name = relationship.get("ReferencingEntityNavigationPropertyName")
    attribute = relationship.get("ReferencingAttribute")
    target = relationship.get("ReferencedEntity")
    if not name or not attribute or not target:
        return
    targets = (target,)
    lookup = table.attributes.get(attribute)
    if target in ("owner", "principal") or (
        lookup is not None and lookup.attribute_type == "Owner" and name == attribute
    ):
        targets = ("systemuser", "team")
    existing = table.navigations.get(name)
    if existing is not None and existing.attribute == attribute:
        targets = tuple(dict.fromkeys(existing.targets + targets))
    table.navigations[name] = Navigation(
        name, attribute, targets, relationship.get("SchemaName", "")
    )
    table.lookup_for_attribute.setdefault(attribute, name)


def add_one_to_many(table: TableMeta, relationship: dict[str, Any]) -> None:
    name = relationship.get("ReferencedEntityNavigationPropertyName")
    entity = relationship.get("ReferencingEntity")
    attribute = relationship.get("ReferencingAttribute")
    if name and entity and attribute:
        table.collections[name] = CollectionNavigation(
            name, entity, attribute, relationship.get("SchemaName", "")
        )


def _add_implicit_navigations(table: TableMeta) -> None:
    """Navigation properties every Dataverse table has even if a metadata file leaves them out:
    `ownerid` (to systemusers and teams) and single-target lookups named after their column."""
    for attribute in table.attributes.values():
        if not attribute.is_lookup or attribute.logical_name in table.lookup_for_attribute:
            continue
        if attribute.attribute_type == "Owner":
            targets: tuple[str, ...] = ("systemuser", "team")
            table.navigations.setdefault(
                attribute.logical_name,
                Navigation(attribute.logical_name, attribute.logical_name, targets, "owner"),
            )
            table.lookup_for_attribute[attribute.logical_name] = attribute.logical_name
        elif len(attribute.targets) == 1:
            name = attribute.logical_name
            table.navigations.setdefault(name, Navigation(name, name, attribute.targets, ""))
            table.lookup_for_attribute[name] = name


def refresh_columns(table: TableMeta) -> None:
    """Recompute the columns a retrieve without $select returns."""
    columns: list[str] = []
    for attribute in table.attributes.values():
        if not attribute.valid_for_read or attribute.attribute_type in NOT_WRITABLE_TYPES:
            continue
        if attribute.raw.get("AttributeOf"):
            continue
        if attribute.is_lookup:
            columns.append(f"_{attribute.logical_name}_value")
        else:
            columns.append(attribute.logical_name)
    table.readable_columns = tuple(columns)


class Catalog:
    """All tables by logical name and by entity set."""

    def __init__(self, tables: Iterable[TableMeta] = ()) -> None:
        self.tables: dict[str, TableMeta] = {}
        self.by_entity_set: dict[str, TableMeta] = {}
        self.by_metadata_id: dict[str, TableMeta] = {}
        for table in tables:
            self.add(table)

    def add(self, table: TableMeta) -> None:
        self.tables[table.logical_name] = table
        self.by_entity_set[table.entity_set] = table
        self.by_metadata_id[table.metadata_id.lower()] = table

    def get(self, logical_name: str) -> TableMeta | None:
        return self.tables.get(logical_name)

    def require(self, logical_name: str) -> TableMeta:
        table = self.tables.get(logical_name)
        if table is None:
            raise MetadataError(f"unknown table {logical_name!r}")
        return table

    def link_relationships(self) -> None:
        """Add the collection-valued partner of every many-to-one relationship that has none."""
        for table in list(self.tables.values()):
            for relationship in table.raw.get("ManyToOne") or []:
                target = self.tables.get(relationship.get("ReferencedEntity", ""))
                name = relationship.get("SchemaName")
                if target is None or not name or name in target.collections:
                    continue
                target.collections[name] = CollectionNavigation(
                    name, table.logical_name, relationship["ReferencingAttribute"], name
                )


def load_catalog(directory: Path = DEFAULT_METADATA_DIR) -> Catalog:
    """Load every `<logicalname>.json` in `directory`."""
    if not directory.is_dir():
        raise MetadataError(f"metadata directory {directory} does not exist")
    catalog = Catalog()
    for path in sorted(directory.glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise MetadataError(f"{path}: {error}") from error
        catalog.add(build_table(raw))
    catalog.link_relationships()
    return catalog


# ---------------------------------------------------------------------------------------------
# Rendering as the Metadata API returns it


def entity_definition_json(table: TableMeta) -> dict[str, Any]:
    raw = table.raw
    display = raw.get("DisplayName")
    collection = raw.get("DisplayCollectionName")
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.EntityMetadata",
        "MetadataId": table.metadata_id,
        "LogicalName": table.logical_name,
        "SchemaName": table.schema_name,
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": raw.get("LogicalCollectionName") or table.entity_set,
        "CollectionSchemaName": raw.get("CollectionSchemaName") or f"{table.schema_name}s",
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": table.object_type_code,
        "OwnershipType": raw.get("OwnershipType") or "UserOwned",
        "IsActivity": table.is_activity,
        "IsCustomEntity": table.is_custom,
        "IsManaged": not table.is_custom,
        "IsValidForAdvancedFind": True,
        "HasActivities": bool(raw.get("HasActivities", False)),
        "HasNotes": bool(raw.get("HasNotes", False)),
        "TableType": "Standard",
        "DisplayName": display
        if isinstance(display, dict)
        else label(display or table.schema_name),
        "DisplayCollectionName": collection
        if isinstance(collection, dict)
        else label(collection or table.entity_set),
        "Description": raw.get("Description")
        if isinstance(raw.get("Description"), dict)
        else label(raw.get("Description")),
        "IsCustomizable": {"Value": True, "CanBeChanged": True},
    }


def attribute_json(table: TableMeta, attribute: AttributeMeta) -> dict[str, Any]:
    raw = attribute.raw
    kind = attribute.attribute_type
    odata_type = ATTRIBUTE_ODATA_TYPES.get(kind, "AttributeMetadata")
    required = raw.get("RequiredLevel") or "None"
    if isinstance(required, dict):
        required = required.get("Value", "None")
    body: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{odata_type}",
        "MetadataId": attribute.metadata_id,
        "LogicalName": attribute.logical_name,
        "SchemaName": attribute.schema_name,
        "EntityLogicalName": table.logical_name,
        "AttributeType": kind if kind != "MultiSelectPicklist" else "Virtual",
        "AttributeTypeName": {"Value": _attribute_type_name(kind)},
        "AttributeOf": raw.get("AttributeOf"),
        "IsPrimaryId": bool(raw.get("IsPrimaryId", False)),
        "IsPrimaryName": bool(raw.get("IsPrimaryName", False)),
        "IsValidForCreate": _bool(raw, "IsValidForCreate"),
        "IsValidForUpdate": _bool(raw, "IsValidForUpdate"),
        "IsValidForRead": _bool(raw, "IsValidForRead"),
        "IsCustomAttribute": bool(raw.get("IsCustomAttribute", False)),
        "IsManaged": not bool(raw.get("IsCustomAttribute", False)),
        "RequiredLevel": {
            "Value": required,
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "DisplayName": raw.get("DisplayName")
        if isinstance(raw.get("DisplayName"), dict)
        else label(raw.get("DisplayName") or attribute.schema_name),
        "Description": raw.get("Description")
        if isinstance(raw.get("Description"), dict)
        else label(raw.get("Description")),
    }
    for name in ("MaxLength", "MinValue", "MaxValue", "Precision", "Format", "DateTimeBehavior"):
        if raw.get(name) is not None:
            body[name] = raw[name]
    if kind in ("String", "Memo") and raw.get("MaxLength") is not None:
        body["DatabaseLength"] = raw["MaxLength"] * 2
        if kind == "String":
            body["FormatName"] = {"Value": raw.get("FormatName") or raw.get("Format") or "Text"}
    if kind == "DateTime" and isinstance(raw.get("DateTimeBehavior"), str):
        body["DateTimeBehavior"] = {"Value": raw["DateTimeBehavior"]}
    if attribute.is_lookup:
        body["Targets"] = list(attribute.targets)
    # OptionSet and GlobalOptionSet are navigation properties: only `$expand` on a cast to the
    # attribute type returns them (see option_set_json).
    return body


def _attribute_type_name(kind: str) -> str:
    return {
        "Uniqueidentifier": "UniqueidentifierType",
        "MultiSelectPicklist": "MultiSelectPicklistType",
    }.get(kind, f"{kind}Type")


# Attribute types whose metadata derives from EnumAttributeMetadata (or is Boolean): the ones with
# the OptionSet and GlobalOptionSet navigation properties.
OPTION_SET_TYPES = frozenset({"Picklist", "State", "Status", "Boolean", "MultiSelectPicklist"})


def _option_json(value: int, text: str) -> dict[str, Any]:
    return {
        "Value": value,
        "Color": None,
        "IsManaged": True,
        "ExternalValue": None,
        "ParentValues": [],
        "MetadataId": None,
        "HasChanged": None,
        "Label": label(text),
        "Description": label(None),
    }


def option_set_json(table: TableMeta, attribute: AttributeMeta) -> dict[str, Any] | None:
    """The attribute's local option set as `$expand=OptionSet` returns it (query-metadata-web-api:
    no `@odata.type` on the set, which is the declared type; StateOptionMetadata and
    StatusOptionMetadata items carry theirs), or None for a column without options."""
    kind = attribute.attribute_type
    if kind not in OPTION_SET_TYPES:
        return None
    raw_set = attribute.raw.get("OptionSet") or {}
    custom = bool(attribute.raw.get("IsCustomAttribute", False))
    body: dict[str, Any] = {
        "MetadataId": stable_metadata_id(table.logical_name, attribute.logical_name, "optionset"),
        "HasChanged": None,
        "IsCustomOptionSet": custom,
        "IsGlobal": bool(raw_set.get("IsGlobal", False)),
        "IsManaged": not custom,
        "Name": raw_set.get("Name") or f"{table.logical_name}_{attribute.logical_name}",
        "ExternalTypeName": None,
        "OptionSetType": "Picklist" if kind == "MultiSelectPicklist" else kind,
        "IntroducedVersion": "1.0.0.0" if custom else "5.0.0.0",
        "Description": label(None),
        "DisplayName": label(label_text(attribute.raw.get("DisplayName"))),
        "IsCustomizable": {
            "Value": True,
            "CanBeChanged": custom,
            "ManagedPropertyLogicalName": "iscustomizable",
        },
    }
    if kind == "Boolean":
        body["TrueOption"] = _option_json(1, attribute.options.get(1, "Yes"))
        body["FalseOption"] = _option_json(0, attribute.options.get(0, "No"))
        return body
    options = []
    for value, text in attribute.options.items():
        option = _option_json(value, text)
        if kind == "State":
            option = {"@odata.type": "#Microsoft.Dynamics.CRM.StateOptionMetadata", **option}
            option["DefaultStatus"] = attribute.default_status.get(value)
            option["InvariantName"] = text.replace(" ", "")
        elif kind == "Status":
            option = {"@odata.type": "#Microsoft.Dynamics.CRM.StatusOptionMetadata", **option}
            option["State"] = attribute.option_state.get(value)
            option["TransitionData"] = None
        options.append(option)
    body["Options"] = options
    return body

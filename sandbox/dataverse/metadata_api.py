"""The Metadata API: EntityDefinitions (with Attributes and Keys), RelationshipDefinitions,
table/column/relationship/key creation, CreateEntities, PublishXml/PublishAllXml and a small
`$metadata` document.

Every change is recorded in the store's `custom_metadata` log and replayed at start, so created
metadata survives restarts. A new alternate key starts `Pending` and becomes `Active` (its index
built) `key_activation_seconds` later; until then it cannot address records.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from . import errors, odata_query
from .catalog import (
    ATTRIBUTE_ODATA_TYPES,
    ODATA_TYPE_TO_ATTRIBUTE_TYPE,
    OPTION_SET_TYPES,
    KeyMeta,
    TableMeta,
    add_many_to_one,
    add_one_to_many,
    attribute_json,
    build_attribute,
    build_table,
    entity_definition_json,
    label_text,
    option_set_json,
    refresh_columns,
)
from .errors import ApiError
from .records import RecordEngine, column_value, key_index_value, utc_now_text
from .solutions import SOLUTION_HEADER, SOLUTION_PARAMETER, component_solution
from .store import DuplicateKey
from .webapi import ApiRequest, ApiResponse, json_response, no_content, parse_json_body

_SEGMENT_RE = re.compile(r"^(?P<name>[^()]+)(?:\((?P<key>.*)\))?$", re.S)
_GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
CUSTOM_TABLE_MESSAGES = [
    "Assign",
    "Associate",
    "Create",
    "CreateMultiple",
    "Delete",
    "Disassociate",
    "GrantAccess",
    "ModifyAccess",
    "Retrieve",
    "RetrieveMultiple",
    "RevokeAccess",
    "SetState",
    "Update",
    "UpdateMultiple",
    "Upsert",
    "UpsertMultiple",
]
DEFAULT_MAX_LENGTH = {"String": 100, "Memo": 2000}
# Casts accepted after `Attributes` (ATTRIBUTE_ODATA_TYPES values) and those with option sets.
_CAST_TYPES = frozenset(ATTRIBUTE_ODATA_TYPES.values())
_OPTION_SET_CASTS = frozenset(ATTRIBUTE_ODATA_TYPES[kind] for kind in OPTION_SET_TYPES)


def _cast_type(attribute: Any) -> str:
    return ATTRIBUTE_ODATA_TYPES.get(attribute.attribute_type, "AttributeMetadata")


def _system_attributes(entity: str, primary_id: str, schema: str) -> list[dict[str, Any]]:
    """The columns Dataverse adds to every user-owned custom table."""

    def column(name: str, kind: str, create: bool, update: bool, **extra: Any) -> dict[str, Any]:
        return {
            "LogicalName": name,
            "SchemaName": extra.pop("SchemaName", name),
            "AttributeType": kind,
            "IsValidForCreate": create,
            "IsValidForUpdate": update,
            "IsValidForRead": True,
            "RequiredLevel": extra.pop("RequiredLevel", "None"),
            **extra,
        }

    return [
        column(
            primary_id,
            "Uniqueidentifier",
            True,
            False,
            IsPrimaryId=True,
            SchemaName=f"{schema}Id",
            RequiredLevel="SystemRequired",
        ),
        column("createdon", "DateTime", False, False, DateTimeBehavior="UserLocal"),
        column("modifiedon", "DateTime", False, False, DateTimeBehavior="UserLocal"),
        column(
            "overriddencreatedon",
            "DateTime",
            True,
            False,
            DateTimeBehavior="UserLocal",
            Format="DateOnly",
        ),
        column("createdby", "Lookup", False, False, Targets=["systemuser"]),
        column("modifiedby", "Lookup", False, False, Targets=["systemuser"]),
        column(
            "ownerid",
            "Owner",
            True,
            True,
            Targets=["systemuser", "team"],
            RequiredLevel="SystemRequired",
        ),
        column("owninguser", "Lookup", False, False, Targets=["systemuser"]),
        column("owningteam", "Lookup", False, False, Targets=["team"]),
        column("owningbusinessunit", "Lookup", False, False, Targets=["businessunit"]),
        column("versionnumber", "BigInt", False, False),
        column(
            "statecode",
            "State",
            False,
            True,
            RequiredLevel="SystemRequired",
            OptionSet={
                "Options": [
                    {"Value": 0, "Label": "Active", "DefaultStatus": 1},
                    {"Value": 1, "Label": "Inactive", "DefaultStatus": 2},
                ]
            },
        ),
        column(
            "statuscode",
            "Status",
            True,
            True,
            OptionSet={
                "Options": [
                    {"Value": 1, "Label": "Active", "State": 0},
                    {"Value": 2, "Label": "Inactive", "State": 1},
                ]
            },
        ),
    ]


def _required_level(body: dict[str, Any]) -> str:
    level = body.get("RequiredLevel")
    if isinstance(level, dict):
        return str(level.get("Value") or "None")
    return str(level or "None")


def _options_from_body(option_set: Any) -> dict[str, Any] | None:
    if not isinstance(option_set, dict):
        return None
    result: dict[str, Any] = {
        "Name": option_set.get("Name"),
        "IsGlobal": bool(option_set.get("IsGlobal")),
    }
    if "TrueOption" in option_set or "FalseOption" in option_set:
        true_option = option_set.get("TrueOption") or {}
        false_option = option_set.get("FalseOption") or {}
        result["TrueOption"] = {"Value": 1, "Label": label_text(true_option.get("Label")) or "Yes"}
        result["FalseOption"] = {"Value": 0, "Label": label_text(false_option.get("Label")) or "No"}
        return result
    options = []
    for index, option in enumerate(option_set.get("Options") or []):
        value = option.get("Value")
        options.append(
            {
                "Value": value if isinstance(value, int) else 100000000 + index,
                "Label": label_text(option.get("Label")) or str(value),
            }
        )
    result["Options"] = options
    return result


class MetadataApi:
    NAMES = frozenset(
        {
            "EntityDefinitions",
            "RelationshipDefinitions",
            "PublishXml",
            "PublishAllXml",
            "CreateEntities",
            "$metadata",
            "GlobalOptionSetDefinitions",
        }
    )

    def __init__(self, engine: RecordEngine, key_activation_seconds: float) -> None:
        self.engine = engine
        self.catalog = engine.catalog
        self.store = engine.store
        self.key_activation_seconds = key_activation_seconds
        self._pending: list[tuple[TableMeta, KeyMeta]] = []
        self._relationships: dict[str, dict[str, Any]] = {}

    @property
    def api_url(self) -> str:
        return self.engine.api_url

    def handles(self, name: str) -> bool:
        return name in self.NAMES

    # -- persistence ---------------------------------------------------------------------------

    def replay(self) -> None:
        """Re-apply the metadata created through the API (at start and after a reset)."""
        self.catalog = self.engine.catalog
        self._pending.clear()
        self._relationships.clear()
        for kind, entity, body in self.store.custom_metadata():
            self._apply(kind, entity, body, replaying=True)

    def _record(self, kind: str, entity: str, body: dict[str, Any]) -> None:
        self.store.add_custom_metadata(kind, entity, body)
        self._apply(kind, entity, body, replaying=False)

    def _apply(self, kind: str, entity: str, body: dict[str, Any], *, replaying: bool) -> None:
        if kind == "table":
            self.catalog.add(build_table(body))
        elif kind == "attribute":
            table = self.catalog.require(entity)
            table.raw.setdefault("Attributes", []).append(body)
            table.attributes[body["LogicalName"]] = build_attribute(entity, body)
            refresh_columns(table)
        elif kind == "relationship":
            self._apply_relationship(body)
        elif kind == "key":
            table = self.catalog.require(entity)
            key = KeyMeta(
                body["SchemaName"],
                body["LogicalName"],
                tuple(body["KeyAttributes"]),
                body["MetadataId"],
                "Pending",
                solution=body.get("Solution"),
            )
            table.keys.append(key)
            if replaying:
                self._activate(table, key)
            else:
                key.activate_at = time.monotonic() + self.key_activation_seconds
                self._pending.append((table, key))
        elif kind == "delete_key":
            table = self.catalog.require(entity)
            table.keys = [k for k in table.keys if k.metadata_id != body["MetadataId"]]
            self._pending = [
                (t, k) for t, k in self._pending if k.metadata_id != body["MetadataId"]
            ]
            self.store.drop_key(entity, body["LogicalName"])
        elif kind == "delete_table":
            table = self.catalog.tables.pop(entity, None)
            if table is not None:
                self.catalog.by_entity_set.pop(table.entity_set, None)
                self.catalog.by_metadata_id.pop(table.metadata_id.lower(), None)

    def _apply_relationship(self, body: dict[str, Any]) -> None:
        referencing = self.catalog.require(body["ReferencingEntity"])
        referenced = self.catalog.require(body["ReferencedEntity"])
        lookup = body["Lookup"]
        referencing.raw.setdefault("Attributes", []).append(lookup)
        referencing.attributes[lookup["LogicalName"]] = build_attribute(
            referencing.logical_name, lookup
        )
        many_to_one = {
            "SchemaName": body["SchemaName"],
            "ReferencedEntity": referenced.logical_name,
            "ReferencedAttribute": referenced.primary_id,
            "ReferencingAttribute": lookup["LogicalName"],
            "ReferencingEntityNavigationPropertyName": body[
                "ReferencingEntityNavigationPropertyName"
            ],
        }
        one_to_many = {
            "SchemaName": body["SchemaName"],
            "ReferencingEntity": referencing.logical_name,
            "ReferencingAttribute": lookup["LogicalName"],
            "ReferencedEntityNavigationPropertyName": body[
                "ReferencedEntityNavigationPropertyName"
            ],
        }
        referencing.raw.setdefault("ManyToOne", []).append(many_to_one)
        referenced.raw.setdefault("OneToMany", []).append(one_to_many)
        add_many_to_one(referencing, many_to_one)
        add_one_to_many(referenced, one_to_many)
        refresh_columns(referencing)
        self._relationships[body["MetadataId"]] = body

    # -- alternate-key activation --------------------------------------------------------------

    def tick(self) -> None:
        """Activate pending keys whose time has come (called before each request)."""
        if not self._pending:
            return
        now = time.monotonic()
        due = [(t, k) for t, k in self._pending if k.activate_at <= now]
        self._pending = [(t, k) for t, k in self._pending if k.activate_at > now]
        for table, key in due:
            self._activate(table, key)

    def _activate(self, table: TableMeta, key: KeyMeta) -> None:
        self.store.drop_key(table.logical_name, key.logical_name)
        entries = []
        for record in self.store.scan(table.logical_name):
            values = [column_value(record, table, name) for name in key.attributes]
            if all(value is not None for value in values):
                entries.append(
                    (key.logical_name, key_index_value(values), record[table.primary_id])
                )
        try:
            with self.store.atomic():
                self.store.set_keys(table.logical_name, entries)
        except DuplicateKey:
            key.status = "Failed"
            return
        key.status = "Active"

    # -- routing -------------------------------------------------------------------------------

    def handle(self, request: ApiRequest, segments: list[str]) -> ApiResponse:
        head = _SEGMENT_RE.match(segments[0])
        assert head is not None
        name, key = head.group("name"), head.group("key")
        method = request.method
        if name == "PublishXml" and method == "POST":
            return self._publish_xml(request)
        if name == "PublishAllXml" and method == "POST":
            return self._publish_all(request)
        if name == "$metadata" and method == "GET":
            return self._csdl()
        if name == "CreateEntities" and method == "POST":
            return self._create_entities(request)
        if name == "GlobalOptionSetDefinitions" and method == "GET":
            return json_response(
                200,
                {
                    "@odata.context": f"{self.api_url}/$metadata#GlobalOptionSetDefinitions",
                    "value": [],
                },
            )
        if name == "RelationshipDefinitions":
            if method == "POST" and key is None:
                return self._create_relationship(request)
            if method == "GET":
                return self._get_relationships(key)
        if name == "EntityDefinitions":
            if key is None:
                if method == "GET" and len(segments) == 1:
                    return self._list_tables(request)
                if method == "POST" and len(segments) == 1:
                    return self._create_table(request)
                raise errors.segment_not_found(segments[-1])
            table = self._table_by_key(key)
            return self._table_route(request, table, segments[1:])
        raise errors.segment_not_found(name)

    def _table_by_key(self, key: str) -> TableMeta:
        key = key.strip()
        match = re.fullmatch(r"LogicalName\s*=\s*'([^']*)'", key)
        table = None
        if match:
            table = self.catalog.get(match.group(1))
        elif _GUID_RE.match(key):
            table = self.catalog.by_metadata_id.get(key.lower())
        elif re.fullmatch(r"MetadataId\s*=\s*[0-9a-fA-F-]{36}", key):
            table = self.catalog.by_metadata_id.get(key.split("=", 1)[1].strip().lower())
        if table is None:
            raise ApiError(
                404,
                "0x80040217",
                f"Could not find entity with {key}."
                if not match
                else f"Could not find entity with logical name '{match.group(1)}'.",
            )
        return table

    def _table_route(self, request: ApiRequest, table: TableMeta, rest: list[str]) -> ApiResponse:
        method = request.method
        if not rest:
            if method == "GET":
                body = self._table_json(request, table)
                body["@odata.context"] = f"{self.api_url}/$metadata#EntityDefinitions/$entity"
                return json_response(200, body)
            if method in ("PUT", "PATCH"):
                return self._update_table(request, table)
            if method == "DELETE":
                return self._delete_table(table)
            raise errors.segment_not_found("EntityDefinitions")
        head = _SEGMENT_RE.match(rest[0])
        assert head is not None
        name, key = head.group("name"), head.group("key")
        if name == "Attributes":
            return self._attributes_route(request, table, key, rest[1:])
        if name == "Keys":
            return self._keys_route(request, table, key)
        if name in ("ManyToOneRelationships", "OneToManyRelationships") and method == "GET":
            items = table.raw.get("ManyToOne" if name.startswith("Many") else "OneToMany") or []
            return json_response(
                200, {"@odata.context": f"{self.api_url}/$metadata#{name}", "value": items}
            )
        raise errors.segment_not_found(name)

    # -- reading -------------------------------------------------------------------------------

    def _project(self, item: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
        if not select:
            return item
        kept = {k: v for k, v in item.items() if k in select or k in ("@odata.type", "MetadataId")}
        return kept

    def _table_json(self, request: ApiRequest, table: TableMeta) -> dict[str, Any]:
        select = odata_query.parse_select(request.option("$select") or "") or None
        body = self._project(entity_definition_json(table), select)
        expand = request.option("$expand")
        if expand:
            for item in odata_query.parse_expand(expand):
                if item.navigation == "Attributes":
                    body["Attributes"] = [
                        self._project(attribute_json(table, a), item.select)
                        for a in table.attributes.values()
                    ]
                elif item.navigation == "Keys":
                    body["Keys"] = [
                        self._project(k.as_json(table.logical_name), item.select)
                        for k in table.keys
                    ]
                elif item.navigation in ("ManyToOneRelationships", "OneToManyRelationships"):
                    body[item.navigation] = (
                        table.raw.get(
                            "ManyToOne" if item.navigation.startswith("Many") else "OneToMany"
                        )
                        or []
                    )
                else:
                    raise errors.select_property_not_found(
                        item.navigation, "Microsoft.Dynamics.CRM.EntityMetadata"
                    )
        return body

    def _filter(
        self, request: ApiRequest, items: list[dict[str, Any]], entity: str
    ) -> list[dict[str, Any]]:
        text = request.option("$filter")
        if not text:
            return items
        aliases = {k: v for k, v in request.query if k.startswith("@")}
        predicate = odata_query.parse_filter(text, aliases, entity=entity)
        return [item for item in items if predicate(item)]

    def _list_tables(self, request: ApiRequest) -> ApiResponse:
        full = [entity_definition_json(t) for t in self.catalog.tables.values()]
        matched = {item["LogicalName"] for item in self._filter(request, full, "EntityMetadata")}
        values = [
            self._table_json(request, table)
            for table in sorted(self.catalog.tables.values(), key=lambda t: t.logical_name)
            if table.logical_name in matched
        ]
        select = request.option("$select")
        context = f"{self.api_url}/$metadata#EntityDefinitions" + (f"({select})" if select else "")
        return json_response(200, {"@odata.context": context, "value": values})

    def _attributes_route(
        self, request: ApiRequest, table: TableMeta, key: str | None, rest: list[str]
    ) -> ApiResponse:
        """`Attributes[(key)][/Microsoft.Dynamics.CRM.<Type>AttributeMetadata[/OptionSet]]`.

        As query-metadata-web-api describes: type-specific navigation properties (OptionSet,
        GlobalOptionSet) are only reachable through a cast, and only with `$expand` (or as a path
        segment after the cast); `$select` never drops what `$expand` asks for.
        """
        method = request.method
        cast, navigation = self._attribute_path(rest)
        if key is None:
            if navigation is not None:
                raise errors.segment_not_found(navigation)
            if method == "GET":
                return self._list_attributes(request, table, cast)
            if method == "POST" and cast is None:
                return self._create_attribute(request, table)
            raise errors.segment_not_found("Attributes")
        attribute = self._attribute_by_key(table, key)
        if method == "GET":
            if cast is not None and _cast_type(attribute) != cast:
                raise ApiError(
                    404,
                    errors.OBJECT_DOES_NOT_EXIST,
                    f"The attribute {attribute.logical_name} of entity {table.logical_name} is "
                    f"not of type Microsoft.Dynamics.CRM.{cast}.",
                )
            if navigation is not None:
                return self._attribute_navigation(request, table, attribute, cast, navigation)
            body = self._attribute_body(request, table, attribute, cast)
            body = {
                "@odata.context": self._attributes_context(table, cast, request) + "/$entity",
                **body,
            }
            return json_response(200, body)
        if method in ("PUT", "PATCH") and cast is None and navigation is None:
            self._solution(request)
            return no_content()
        raise errors.segment_not_found("Attributes")

    @staticmethod
    def _attribute_path(rest: list[str]) -> tuple[str | None, str | None]:
        """(cast type name, navigation) of the segments after `Attributes[(key)]`."""
        cast = navigation = None
        remaining = list(rest)
        if remaining and remaining[0].startswith("Microsoft.Dynamics.CRM."):
            cast = remaining.pop(0).removeprefix("Microsoft.Dynamics.CRM.")
            if cast not in _CAST_TYPES:
                raise errors.segment_not_found(f"Microsoft.Dynamics.CRM.{cast}")
        if remaining:
            navigation = remaining.pop(0)
            if cast is None or navigation not in ("OptionSet", "GlobalOptionSet"):
                raise errors.segment_not_found(navigation)
            if cast not in _OPTION_SET_CASTS:
                raise errors.segment_not_found(navigation)
        if remaining:
            raise errors.segment_not_found(remaining[0])
        return cast, navigation

    def _list_attributes(
        self, request: ApiRequest, table: TableMeta, cast: str | None
    ) -> ApiResponse:
        attributes = [a for a in table.attributes.values() if cast is None or _cast_type(a) == cast]
        expand = self._attribute_expand(request, cast)
        select = odata_query.parse_select(request.option("$select") or "") or None
        by_name = {a.logical_name: a for a in attributes}
        items = self._filter(
            request, [attribute_json(table, a) for a in attributes], "AttributeMetadata"
        )
        values = [
            self._attribute_view(table, by_name[item["LogicalName"]], item, cast, select, expand)
            for item in items
        ]
        context = self._attributes_context(table, cast, request)
        return json_response(200, {"@odata.context": context, "value": values})

    def _attribute_body(
        self, request: ApiRequest, table: TableMeta, attribute: Any, cast: str | None
    ) -> dict[str, Any]:
        expand = self._attribute_expand(request, cast)
        select = odata_query.parse_select(request.option("$select") or "") or None
        return self._attribute_view(
            table, attribute, attribute_json(table, attribute), cast, select, expand
        )

    def _attribute_view(
        self,
        table: TableMeta,
        attribute: Any,
        item: dict[str, Any],
        cast: str | None,
        select: list[str] | None,
        expand: list[odata_query.ExpandItem],
    ) -> dict[str, Any]:
        body = self._project(item, select)
        if cast is not None:
            body.pop("@odata.type", None)  # the type the cast names: implied by the context
        for entry in expand:
            value = self._option_set_value(table, attribute, entry.navigation)
            body[entry.navigation] = (
                self._project(value, entry.select) if value is not None else None
            )
        return body

    def _option_set_value(
        self, table: TableMeta, attribute: Any, navigation: str
    ) -> dict[str, Any] | None:
        option_set = option_set_json(table, attribute)
        if navigation == "GlobalOptionSet":  # every option set here is local to its column
            return option_set if option_set is not None and option_set["IsGlobal"] else None
        return option_set

    @staticmethod
    def _attribute_expand(request: ApiRequest, cast: str | None) -> list[odata_query.ExpandItem]:
        text = request.option("$expand")
        if not text:
            return []
        items = odata_query.parse_expand(text)
        for item in items:
            if cast in _OPTION_SET_CASTS and item.navigation in ("OptionSet", "GlobalOptionSet"):
                continue
            raise errors.select_property_not_found(
                item.navigation, f"Microsoft.Dynamics.CRM.{cast or 'AttributeMetadata'}"
            )
        return items

    def _attribute_navigation(
        self,
        request: ApiRequest,
        table: TableMeta,
        attribute: Any,
        cast: str | None,
        navigation: str,
    ) -> ApiResponse:
        value = self._option_set_value(table, attribute, navigation)
        if value is None:
            return ApiResponse(204, {"OData-Version": "4.0"})
        select = odata_query.parse_select(request.option("$select") or "") or None
        selected = f"({','.join(select)})" if select else ""
        context = (
            f"{self.api_url}/$metadata#EntityDefinitions('{table.logical_name}')/Attributes("
            f"{attribute.metadata_id})/Microsoft.Dynamics.CRM.{cast}/{navigation}{selected}/$entity"
        )
        return json_response(200, {"@odata.context": context, **self._project(value, select)})

    def _attributes_context(self, table: TableMeta, cast: str | None, request: ApiRequest) -> str:
        context = f"{self.api_url}/$metadata#EntityDefinitions({table.metadata_id})/Attributes"
        if cast is None:
            return context
        parts = list(odata_query.parse_select(request.option("$select") or "") or [])
        expand = request.option("$expand")
        if expand:
            parts += [item.navigation for item in odata_query.parse_expand(expand)]
        selected = f"({','.join(parts)})" if parts else ""
        return f"{context}/Microsoft.Dynamics.CRM.{cast}{selected}"

    def _attribute_by_key(self, table: TableMeta, key: str) -> Any:
        key = key.strip()
        match = re.fullmatch(r"LogicalName\s*=\s*'([^']*)'", key)
        for attribute in table.attributes.values():
            if (match and attribute.logical_name == match.group(1)) or (
                not match and attribute.metadata_id.lower() == key.lower()
            ):
                return attribute
        raise ApiError(
            404, "0x80040217", f"Could not find attribute {key} on entity {table.logical_name}."
        )

    def _keys_route(self, request: ApiRequest, table: TableMeta, key: str | None) -> ApiResponse:
        method = request.method
        self.tick()
        if key is None and method == "GET":
            values = [k.as_json(table.logical_name) for k in table.keys]
            context = f"{self.api_url}/$metadata#EntityDefinitions({table.metadata_id})/Keys"
            return json_response(200, {"@odata.context": context, "value": values})
        if key is None and method == "POST":
            return self._create_key(request, table)
        found = next(
            (
                k
                for k in table.keys
                if k.metadata_id.lower() == key.strip().lower()
                or f"LogicalName='{k.logical_name}'" == key.strip()
            ),
            None,
        )
        if found is None:
            raise ApiError(
                404, "0x80040217", f"Could not find key {key} on entity {table.logical_name}."
            )
        if method == "GET":
            return json_response(200, found.as_json(table.logical_name))
        if method == "DELETE":
            self._record(
                "delete_key",
                table.logical_name,
                {"MetadataId": found.metadata_id, "LogicalName": found.logical_name},
            )
            return no_content()
        raise errors.segment_not_found("Keys")

    def _get_relationships(self, key: str | None) -> ApiResponse:
        if key is None:
            values = list(self._relationships.values())
            return json_response(
                200,
                {
                    "@odata.context": f"{self.api_url}/$metadata#RelationshipDefinitions",
                    "value": values,
                },
            )
        body = self._relationships.get(key.strip().lower())
        if body is None:
            raise ApiError(404, "0x80040217", f"Could not find relationship {key}.")
        return json_response(200, body)

    def _csdl(self) -> ApiResponse:
        types = []
        for table in sorted(self.catalog.tables.values(), key=lambda t: t.logical_name):
            types.append(
                f'<EntityType Name="{escape(table.logical_name)}"><Key><PropertyRef '
                f'Name="{escape(table.primary_id)}"/></Key></EntityType>'
            )
        sets = "".join(
            f'<EntitySet Name="{escape(t.entity_set)}" '
            f'EntityType="mscrm.{escape(t.logical_name)}"/>'
            for t in sorted(self.catalog.tables.values(), key=lambda t: t.entity_set)
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" '
            'xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
            '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" '
            'xmlns="http://docs.oasis-open.org/odata/ns/edm">'
            + "".join(types)
            + f'<EntityContainer Name="System">{sets}</EntityContainer></Schema>'
            "</edmx:DataServices></edmx:Edmx>"
        )
        return ApiResponse(
            200, {"Content-Type": "application/xml", "OData-Version": "4.0"}, xml.encode()
        )

    # -- publishing ----------------------------------------------------------------------------

    def _publish_xml(self, request: ApiRequest) -> ApiResponse:
        """PublishXml: `{"ParameterXml": "<importexportxml>…</importexportxml>"}`; the XML must
        parse and every `<entity>` must name a table. Recorded in the store's publish log."""
        body = parse_json_body(request.body)
        text = body.get("ParameterXml") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ApiError(
                400, errors.INVALID_ARGUMENT, "Required parameter 'ParameterXml' is missing."
            )
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise ApiError(400, errors.INVALID_ARGUMENT, "ParameterXml must not contain a DOCTYPE.")
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError as error:
            raise ApiError(
                400, errors.INVALID_ARGUMENT, f"ParameterXml is not valid XML: {error}."
            ) from error
        if root.tag != "importexportxml":
            raise ApiError(
                400,
                errors.INVALID_ARGUMENT,
                f"The root element of ParameterXml must be importexportxml, not {root.tag}.",
            )
        entities = [(node.text or "").strip() for node in root.iter("entity")]
        for entity in entities:
            if entity not in self.catalog.tables:
                raise ApiError(
                    404,
                    errors.OBJECT_DOES_NOT_EXIST,
                    f"Could not find entity with logical name '{entity}'.",
                )
        self._log_publish(request, "PublishXml", entities, text)
        return no_content()

    def _publish_all(self, request: ApiRequest) -> ApiResponse:
        if request.body.strip():
            body = parse_json_body(request.body)
            if body not in ({}, None):
                raise ApiError(
                    400, errors.INVALID_ARGUMENT, "PublishAllXml does not take parameters."
                )
        self._log_publish(request, "PublishAllXml", None, None)
        return no_content()

    def _log_publish(
        self,
        request: ApiRequest,
        message: str,
        entities: list[str] | None,
        parameter_xml: str | None,
    ) -> None:
        self.store.add_publish(
            {
                "message": message,
                "entities": entities,
                "parameterxml": parameter_xml,
                "publishedon": utc_now_text(),
                "publishedby": request.caller.systemuserid,
            }
        )

    # -- creating ------------------------------------------------------------------------------

    def _solution(self, request: ApiRequest) -> str | None:
        """The existing unmanaged solution named by `MSCRM.SolutionUniqueName` (or the
        `SolutionUniqueName` parameter), checked before anything is written."""
        name = request.header(SOLUTION_HEADER) or request.option(SOLUTION_PARAMETER)
        return component_solution(self.store, name)

    def _create_table(self, request: ApiRequest) -> ApiResponse:
        body = parse_json_body(request.body)
        table = self._new_table(body, self._solution(request))
        url = f"{self.api_url}/EntityDefinitions({table.metadata_id})"
        return no_content({"OData-EntityId": url})

    def _create_entities(self, request: ApiRequest) -> ApiResponse:
        body = parse_json_body(request.body)
        entities = body.get("Entities") if isinstance(body, dict) else None
        if not isinstance(entities, list) or not entities:
            raise ApiError(
                400, errors.INVALID_ARGUMENT, "Required parameter 'Entities' is missing."
            )
        solution = self._solution(request)
        with self.store.atomic():
            ids = [self._new_table(entity, solution).metadata_id for entity in entities]
        context = f"{self.api_url}/$metadata#Microsoft.Dynamics.CRM.CreateEntitiesResponse"
        return json_response(200, {"@odata.context": context, "EntityIds": ids})

    def _new_table(self, body: Any, solution: str | None) -> TableMeta:
        if not isinstance(body, dict) or not isinstance(body.get("SchemaName"), str):
            raise ApiError(
                400, errors.INVALID_ARGUMENT, "SchemaName is required to create a table."
            )
        schema = body["SchemaName"]
        if "_" not in schema:
            raise ApiError(
                400,
                errors.INVALID_ARGUMENT,
                f"The schema name {schema} for this table does not begin with a valid "
                "customization prefix.",
            )
        logical = schema.lower()
        if logical in self.catalog.tables:
            raise ApiError(
                412,
                errors.DUPLICATE_RECORD,
                f"An entity with the specified name {logical} already exists. "
                "Specify a unique name.",
            )
        attributes_in = body.get("Attributes") or []
        primary = next((a for a in attributes_in if a.get("IsPrimaryName")), None)
        if primary is None:
            raise ApiError(
                400,
                errors.INVALID_ARGUMENT,
                "The Attributes of a new table must include its primary name "
                "StringAttributeMetadata with IsPrimaryName true.",
            )
        primary_id = f"{logical}id"
        attributes = _system_attributes(logical, primary_id, schema)
        names = {a["LogicalName"] for a in attributes}
        for attribute_body in attributes_in:
            attribute = self._attribute_from_body(attribute_body, solution)
            if attribute["LogicalName"] not in names:
                attributes.append(attribute)
                names.add(attribute["LogicalName"])
        raw = {
            "LogicalName": logical,
            "SchemaName": schema,
            "EntitySetName": f"{logical}s" if not logical.endswith("s") else f"{logical}es",
            "PrimaryIdAttribute": primary_id,
            "PrimaryNameAttribute": primary["SchemaName"].lower(),
            "ObjectTypeCode": 10000 + len([t for t in self.catalog.tables.values() if t.is_custom]),
            "OwnershipType": body.get("OwnershipType") or "UserOwned",
            "IsActivity": bool(body.get("IsActivity")),
            "IsCustomEntity": True,
            "HasActivities": bool(body.get("HasActivities")),
            "HasNotes": bool(body.get("HasNotes")),
            "DisplayName": body.get("DisplayName"),
            "DisplayCollectionName": body.get("DisplayCollectionName"),
            "Description": body.get("Description"),
            "MetadataId": str(uuid.uuid4()),
            "Messages": CUSTOM_TABLE_MESSAGES,
            "Attributes": attributes,
            "ManyToOne": [],
            "OneToMany": [],
            "Keys": [],
            "Solution": solution,
        }
        self._record("table", logical, raw)
        return self.catalog.require(logical)

    def _attribute_from_body(self, body: Any, solution: str | None) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("SchemaName"), str):
            raise ApiError(400, errors.INVALID_ARGUMENT, "SchemaName is required for a column.")
        odata_type = (
            str(body.get("@odata.type", "")).lstrip("#").removeprefix("Microsoft.Dynamics.CRM.")
        )
        odata_type = odata_type.removeprefix("Complex")  # CreateEntities sends Complex*Metadata
        kind = ODATA_TYPE_TO_ATTRIBUTE_TYPE.get(odata_type) or body.get("AttributeType")
        if kind not in (
            "String",
            "Memo",
            "Integer",
            "BigInt",
            "Decimal",
            "Double",
            "Money",
            "DateTime",
            "Boolean",
            "Picklist",
            "MultiSelectPicklist",
            "Lookup",
        ):
            raise ApiError(
                400,
                errors.INVALID_ARGUMENT,
                f"Column type '{odata_type or kind}' is not supported.",
            )
        format_name = body.get("FormatName")
        behavior = body.get("DateTimeBehavior")
        attribute: dict[str, Any] = {
            "LogicalName": body["SchemaName"].lower(),
            "SchemaName": body["SchemaName"],
            "AttributeType": kind,
            "MaxLength": body.get("MaxLength", DEFAULT_MAX_LENGTH.get(kind)),
            "MinValue": body.get("MinValue"),
            "MaxValue": body.get("MaxValue"),
            "Precision": body.get("Precision", 2 if kind in ("Decimal", "Money") else None),
            "Format": body.get("Format")
            or (format_name.get("Value") if isinstance(format_name, dict) else None),
            "DateTimeBehavior": behavior.get("Value") if isinstance(behavior, dict) else behavior,
            "RequiredLevel": _required_level(body),
            "IsValidForCreate": True,
            "IsValidForUpdate": True,
            "IsValidForRead": True,
            "IsPrimaryId": False,
            "IsPrimaryName": bool(body.get("IsPrimaryName")),
            "IsCustomAttribute": True,
            "Targets": body.get("Targets"),
            "OptionSet": _options_from_body(body.get("OptionSet")),
            "DisplayName": body.get("DisplayName"),
            "Description": body.get("Description"),
            "MetadataId": str(uuid.uuid4()),
            "Solution": solution,
        }
        if kind == "DateTime" and attribute["DateTimeBehavior"] is None:
            attribute["DateTimeBehavior"] = (
                "DateOnly" if attribute["Format"] == "DateOnly" else "UserLocal"
            )
        return attribute

    def _create_attribute(self, request: ApiRequest, table: TableMeta) -> ApiResponse:
        attribute = self._attribute_from_body(
            parse_json_body(request.body), self._solution(request)
        )
        if attribute["LogicalName"] in table.attributes:
            raise ApiError(
                412,
                errors.DUPLICATE_RECORD,
                f"An attribute with the specified name {attribute['LogicalName']} already exists "
                f"on entity {table.logical_name}.",
            )
        self._record("attribute", table.logical_name, attribute)
        table_url = f"{self.api_url}/EntityDefinitions(LogicalName='{table.logical_name}')"
        url = f"{table_url}/Attributes({attribute['MetadataId']})"
        return no_content({"OData-EntityId": url})

    def _create_relationship(self, request: ApiRequest) -> ApiResponse:
        body = parse_json_body(request.body)
        if not isinstance(body, dict):
            raise ApiError(400, errors.INVALID_ARGUMENT, "A relationship definition is required.")
        odata_type = str(body.get("@odata.type", "")).lstrip("#")
        if not odata_type.endswith("OneToManyRelationshipMetadata"):
            raise ApiError(
                400, errors.INVALID_ARGUMENT, "Only OneToManyRelationshipMetadata is supported."
            )
        referenced = self.catalog.get(str(body.get("ReferencedEntity", "")))
        referencing = self.catalog.get(str(body.get("ReferencingEntity", "")))
        lookup_body = body.get("Lookup")
        if referenced is None or referencing is None or not isinstance(lookup_body, dict):
            raise ApiError(
                400,
                errors.INVALID_ARGUMENT,
                "ReferencedEntity, ReferencingEntity and Lookup must name existing tables and a "
                "lookup column.",
            )
        schema = str(
            body.get("SchemaName") or f"{referenced.logical_name}_{referencing.logical_name}"
        )
        lookup_schema = str(lookup_body.get("SchemaName"))
        lookup = {
            "LogicalName": lookup_schema.lower(),
            "SchemaName": lookup_schema,
            "AttributeType": "Lookup",
            "Targets": [referenced.logical_name],
            "RequiredLevel": _required_level(lookup_body),
            "IsValidForCreate": True,
            "IsValidForUpdate": True,
            "IsValidForRead": True,
            "IsCustomAttribute": True,
            "DisplayName": lookup_body.get("DisplayName"),
            "MetadataId": str(uuid.uuid4()),
        }
        if lookup["LogicalName"] in referencing.attributes:
            raise ApiError(
                412,
                errors.DUPLICATE_RECORD,
                f"An attribute with the specified name {lookup['LogicalName']} already exists.",
            )
        record = {
            "@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "MetadataId": str(uuid.uuid4()),
            "SchemaName": schema,
            "ReferencedEntity": referenced.logical_name,
            "ReferencedAttribute": referenced.primary_id,
            "ReferencingEntity": referencing.logical_name,
            "ReferencingAttribute": lookup["LogicalName"],
            # Dataverse names a custom lookup's navigation property after its SchemaName.
            "ReferencingEntityNavigationPropertyName": body.get(
                "ReferencingEntityNavigationPropertyName"
            )
            or lookup_schema,
            "ReferencedEntityNavigationPropertyName": body.get(
                "ReferencedEntityNavigationPropertyName"
            )
            or schema,
            "Lookup": lookup,
            "Solution": self._solution(request),
        }
        self._record("relationship", referencing.logical_name, record)
        url = f"{self.api_url}/RelationshipDefinitions({record['MetadataId']})"
        return no_content({"OData-EntityId": url})

    def _create_key(self, request: ApiRequest, table: TableMeta) -> ApiResponse:
        body = parse_json_body(request.body)
        columns = body.get("KeyAttributes") if isinstance(body, dict) else None
        if (
            not isinstance(columns, list)
            or not columns
            or not isinstance(body.get("SchemaName"), str)
        ):
            raise ApiError(
                400, errors.INVALID_ARGUMENT, "SchemaName and KeyAttributes are required."
            )
        columns = [str(c).lower() for c in columns]
        for column in columns:
            attribute = table.attributes.get(column)
            if attribute is None:
                raise errors.property_not_found(column, table.type_name)
            if attribute.attribute_type not in (
                "String",
                "Integer",
                "Decimal",
                "DateTime",
                "Lookup",
                "Customer",
                "Owner",
                "Picklist",
            ):
                raise ApiError(
                    400,
                    errors.INVALID_ARGUMENT,
                    f"Attribute {column} of type {attribute.attribute_type} cannot be part of "
                    "a key.",
                )
        if len(table.keys) >= 10:
            raise ApiError(
                400, errors.INVALID_ARGUMENT, "A table can have at most 10 alternate keys."
            )
        if any(k.logical_name == body["SchemaName"].lower() for k in table.keys):
            raise ApiError(
                412, errors.DUPLICATE_RECORD, f"A key named {body['SchemaName']} already exists."
            )
        record = {
            "SchemaName": body["SchemaName"],
            "LogicalName": body["SchemaName"].lower(),
            "KeyAttributes": columns,
            "MetadataId": str(uuid.uuid4()),
            "Solution": self._solution(request),
        }
        self._record("key", table.logical_name, record)
        table_url = f"{self.api_url}/EntityDefinitions(LogicalName='{table.logical_name}')"
        url = f"{table_url}/Keys({record['MetadataId']})"
        return no_content({"OData-EntityId": url})

    def _update_table(self, request: ApiRequest, table: TableMeta) -> ApiResponse:
        self._solution(request)
        body = parse_json_body(request.body)
        if isinstance(body, dict):
            for name in (
                "DisplayName",
                "DisplayCollectionName",
                "Description",
                "HasNotes",
                "HasActivities",
            ):
                if name in body:
                    table.raw[name] = body[name]
        return no_content()

    def _delete_table(self, table: TableMeta) -> ApiResponse:
        if not table.is_custom:
            raise ApiError(
                403,
                "0x80040220",
                f"The table {table.logical_name} is a system table and cannot be deleted.",
            )
        with self.store.atomic():
            for record in self.store.scan(table.logical_name):
                self.store.delete(table.logical_name, record[table.primary_id])
            self._record("delete_table", table.logical_name, {})
        return no_content()

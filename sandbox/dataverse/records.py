"""The record engine: validate writes against the catalog, resolve `@odata.bind` and keys, apply
Dataverse's server-side rules (defaults, state/status, overriddencreatedon, activity parties,
annotation files), and render records as the Web API returns them.

Stored form of a record: logical name -> value for plain columns; a lookup as `_<attr>_value` plus
`_<attr>_value@Microsoft.Dynamics.CRM.lookuplogicalname`; `versionnumber` always.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import errors
from .catalog import AttributeMeta, Catalog, TableMeta, ValueRejected
from .errors import ApiError
from .store import DuplicateKey, Store

API_PATH = "/api/data/v9.2/"
LOOKUP_TYPE = "@Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION = "@Microsoft.Dynamics.CRM.associatednavigationproperty"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
DEFAULT_MAX_UPLOAD = 5_242_880
_GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_ENTITY_REF_RE = re.compile(r"^(?P<set>[A-Za-z_][\w]*)\((?P<key>.*)\)$", re.S)
# Columns Dataverse sets itself on every write, whatever the payload says.
SYSTEM_COLUMNS = frozenset({"createdon", "modifiedon", "versionnumber", "overriddencreatedon"})

Record = dict[str, Any]


_now_cache: tuple[int, str] = (0, "")


def utc_now_text() -> str:
    """The current UTC time as Dataverse writes it (second precision; formatted once a second)."""
    global _now_cache
    second = int(time.time())
    if _now_cache[0] != second:
        _now_cache = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _now_cache[1]


def lookup_column(attribute: str) -> str:
    return f"_{attribute}_value"


# ---------------------------------------------------------------------------------------------
# Keys in URLs: (guid) | (pk=guid) | (name='x',other=1)


def parse_key_text(text: str) -> dict[str, Any] | str:
    """A bare GUID, or name -> value for named key parts. Raises ValueError on bad syntax."""
    text = text.strip()
    if _GUID_RE.match(text):
        return text.lower()
    parts: dict[str, Any] = {}
    for part in _split_key_parts(text):
        name, equals, raw = part.partition("=")
        name = name.strip()
        if not equals or not re.fullmatch(r"[A-Za-z_][\w]*", name):
            raise ValueError(text)
        parts[name] = _key_literal(raw.strip())
    if not parts:
        raise ValueError(text)
    return parts


def _split_key_parts(text: str) -> list[str]:
    parts, start, quoted = [], 0, False
    for position, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif char == "," and not quoted:
            parts.append(text[start:position])
            start = position + 1
    if quoted:
        raise ValueError(text)
    parts.append(text[start:])
    return parts


def _key_literal(raw: str) -> Any:
    if len(raw) >= 2 and raw[0] == "'" and raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    if _GUID_RE.match(raw):
        return raw.lower()
    if raw in ("true", "false"):
        return raw == "true"
    if raw == "null":
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError as error:
        raise ValueError(raw) from error


def key_index_value(values: Iterable[Any]) -> str:
    """Alternate-key values as indexed: strings compared case-insensitively, as SQL Server does."""
    normalised = [v.strip().lower() if isinstance(v, str) else v for v in values]
    return json.dumps(normalised, separators=(",", ":"))


def column_value(record: Record, table: TableMeta, attribute: str) -> Any:
    meta = table.attributes.get(attribute)
    if meta is not None and meta.is_lookup:
        return record.get(lookup_column(attribute))
    return record.get(attribute)


# ---------------------------------------------------------------------------------------------


@dataclass
class Caller:
    systemuserid: str
    businessunitid: str | None = None


@dataclass
class PreparedWrite:
    values: Record = field(default_factory=dict)
    # attribute -> (target logical name, id) or None to clear
    lookups: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    parties: list[Record] | None = None
    # collection navigation -> child payloads to create after the parent (deep insert)
    children: dict[str, list[Record]] = field(default_factory=dict)
    # collection navigation -> existing children to point at the parent (associate on create)
    associate: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


@dataclass
class RecordRef:
    table: TableMeta
    record_id: str


class RecordEngine:
    def __init__(self, catalog: Catalog, store: Store, clock: Callable[[], float] = time.time):
        self.catalog = catalog
        self.store = store
        self.clock = clock
        self.org_url = ""

    @property
    def api_url(self) -> str:
        return f"{self.org_url}{API_PATH}".rstrip("/")

    def entity_url(self, table: TableMeta, record_id: str) -> str:
        return f"{self.api_url}/{table.entity_set}({record_id})"

    def max_upload_size(self) -> int:
        value = self.store.get_setting("maxuploadfilesize")
        return int(value) if value else DEFAULT_MAX_UPLOAD

    # -- resolving references ------------------------------------------------------------------

    def table_for_set(self, entity_set: str) -> TableMeta:
        table = self.catalog.by_entity_set.get(entity_set)
        if table is None:
            raise errors.segment_not_found(entity_set)
        return table

    def resolve_key(self, table: TableMeta, key_text: str) -> tuple[str | None, dict[str, Any]]:
        """(record id or None when absent, alternate-key values used) for a URL key."""
        try:
            parsed = parse_key_text(key_text)
        except ValueError as error:
            raise errors.invalid_key(table.type_name) from error
        if isinstance(parsed, str):
            return (parsed if self.store.exists(table.logical_name, parsed) else None), {}
        if set(parsed) == {table.primary_id}:
            value = parsed[table.primary_id]
            if not isinstance(value, str) or not _GUID_RE.match(value):
                raise errors.invalid_key(table.type_name)
            return (value if self.store.exists(table.logical_name, value) else None), {}
        key = self._matching_key(table, parsed)
        values = [parsed[self._key_part_name(table, name, parsed)] for name in key.attributes]
        found = self.store.key_lookup(table.logical_name, key.logical_name, key_index_value(values))
        return found, {
            name: parsed[self._key_part_name(table, name, parsed)] for name in key.attributes
        }

    def _key_part_name(self, table: TableMeta, attribute: str, parsed: dict[str, Any]) -> str:
        return attribute if attribute in parsed else lookup_column(attribute)

    def _matching_key(self, table: TableMeta, parsed: dict[str, Any]):  # type: ignore[no-untyped-def]
        names = {
            name[1:-6] if name.startswith("_") and name.endswith("_value") else name
            for name in parsed
        }
        for key in table.keys:
            if set(key.attributes) == names:
                if key.status != "Active":
                    raise ApiError(
                        400,
                        errors.ODATA_ERROR,
                        f"The entity key {key.schema_name} on entity {table.logical_name} is not "
                        f"active yet (EntityKeyIndexStatus {key.status}).",
                    )
                return key
        raise errors.invalid_key(table.type_name)

    def resolve_reference(self, reference: str) -> RecordRef:
        """`/contacts(guid)`, `contacts(key='v')` or an absolute URL -> an existing record."""
        path = reference
        if API_PATH in path:
            path = path.split(API_PATH, 1)[1]
        path = path.lstrip("/")
        match = _ENTITY_REF_RE.match(path)
        if match is None:
            raise ApiError(
                400, errors.ODATA_ERROR, f"The URI '{reference}' is not valid for entity reference."
            )
        table = self.table_for_set(match.group("set"))
        record_id, _ = self.resolve_key(table, match.group("key"))
        if record_id is None:
            key = match.group("key")
            if _GUID_RE.match(key.strip()):
                raise errors.record_not_found(table.logical_name, key.strip().lower())
            raise errors.key_record_not_found(table.logical_name)
        return RecordRef(table, record_id)

    # -- validating a payload ------------------------------------------------------------------

    def prepare(self, table: TableMeta, payload: Any, operation: str) -> PreparedWrite:
        """Check a create/update payload; columns not valid for `operation` are dropped."""
        if not isinstance(payload, dict):
            raise ApiError(
                400,
                errors.ODATA_ERROR,
                "The request body must be a JSON object representing the entity.",
            )
        prepared = PreparedWrite()
        for name, value in payload.items():
            if name.startswith("@"):
                continue
            property_name, _, annotation = name.partition("@")
            if annotation == "odata.bind":
                self._prepare_bind(table, property_name, value, prepared)
            elif annotation:
                continue
            else:
                self._prepare_property(table, property_name, value, operation, prepared)
        return prepared

    def _prepare_property(
        self, table: TableMeta, name: str, value: Any, operation: str, prepared: PreparedWrite
    ) -> None:
        attribute = table.attributes.get(name)
        if attribute is not None and not attribute.is_lookup:
            self._prepare_column(table, attribute, value, operation, prepared)
            return
        navigation = table.navigations.get(name)
        if navigation is not None:
            if value is None:
                prepared.lookups[navigation.attribute] = None
            elif isinstance(value, dict):
                target = self.catalog.get(navigation.targets[0])
                if target is None:
                    raise errors.property_not_found(name, table.type_name)
                child_id = self.create(target, value)
                prepared.lookups[navigation.attribute] = (target.logical_name, child_id)
            else:
                raise ApiError(
                    400,
                    errors.ODATA_ERROR,
                    f"A node of type 'PrimitiveValue' was read from the JSON reader when trying "
                    f"to read the contents of the navigation property '{name}'; however, a "
                    "'StartObject' node was expected.",
                )
            return
        if name == table.party_navigation:
            if not isinstance(value, list):
                raise ApiError(
                    400, errors.ODATA_ERROR, f"The value of '{name}' must be an array of parties."
                )
            prepared.parties = value
            return
        if name in table.collections:
            if not isinstance(value, list):
                raise ApiError(
                    400, errors.ODATA_ERROR, f"The value of '{name}' must be an array of entities."
                )
            prepared.children[name] = value
            return
        if name.startswith("_") and name.endswith("_value") and name[1:-6] in table.attributes:
            return  # read-only lookup value properties are ignored on write
        if attribute is not None:
            return  # a lookup column named directly: not settable, Dataverse ignores it
        raise errors.property_not_found(name, table.type_name)

    def _prepare_column(
        self,
        table: TableMeta,
        attribute: AttributeMeta,
        value: Any,
        operation: str,
        prepared: PreparedWrite,
    ) -> None:
        valid = attribute.valid_for_create if operation == "create" else attribute.valid_for_update
        if not valid and attribute.logical_name not in ("statecode",):
            return
        if attribute.logical_name == "statecode" and operation == "create":
            return
        if value is None:
            prepared.values[attribute.logical_name] = None
            return
        if attribute.converter is None:
            return
        try:
            prepared.values[attribute.logical_name] = attribute.converter(value)
        except ValueRejected as rejected:
            raise ApiError(rejected.status, rejected.code, rejected.message) from rejected

    def _prepare_bind(
        self, table: TableMeta, name: str, value: Any, prepared: PreparedWrite
    ) -> None:
        navigation = table.navigations.get(name)
        if navigation is not None:
            if value is None:
                prepared.lookups[navigation.attribute] = None
                return
            if not isinstance(value, str):
                raise ApiError(
                    400, errors.ODATA_ERROR, f"The value of '{name}@odata.bind' must be a URI."
                )
            reference = self.resolve_reference(value)
            if reference.table.logical_name not in navigation.targets:
                raise ApiError(
                    400,
                    errors.ODATA_ERROR,
                    f"A resource of type '{reference.table.type_name}' was found in a resource "
                    f"set that returns type '{self._nav_type_name(navigation.targets)}'; "
                    "the navigation property "
                    f"'{name}' does not accept it.",
                )
            prepared.lookups[navigation.attribute] = (
                reference.table.logical_name,
                reference.record_id,
            )
            return
        collection = table.collections.get(name)
        if collection is not None and isinstance(value, list):
            refs = [self.resolve_reference(item) for item in value if isinstance(item, str)]
            prepared.associate[name] = [(r.table.logical_name, r.record_id) for r in refs]
            return
        raise errors.undeclared_navigation(name)

    def _nav_type_name(self, targets: tuple[str, ...]) -> str:
        return (
            f"Microsoft.Dynamics.CRM.{targets[0]}"
            if len(targets) == 1
            else "Microsoft.Dynamics.CRM.principal"
        )

    # -- writing -------------------------------------------------------------------------------

    def create(
        self,
        table: TableMeta,
        payload: Any,
        *,
        caller: Caller | None = None,
        record_id: str | None = None,
        key_values: dict[str, Any] | None = None,
    ) -> str:
        with self.store.atomic():
            prepared = self.prepare(table, payload, "create")
            record = self.build_new_record(table, prepared, caller, record_id, key_values)
            new_id = record[table.primary_id]
            self._insert(table, [(new_id, record)])
            self._after_write(table, new_id, prepared, caller)
            return new_id

    def build_new_record(
        self,
        table: TableMeta,
        prepared: PreparedWrite,
        caller: Caller | None,
        record_id: str | None = None,
        key_values: dict[str, Any] | None = None,
    ) -> Record:
        values = dict(prepared.values)
        for name, value in (key_values or {}).items():
            attribute = name[1:-6] if name.startswith("_") and name.endswith("_value") else name
            meta = table.attributes.get(attribute)
            if meta is not None and not meta.is_lookup:
                values[attribute] = value
        given_id = values.pop(table.primary_id, None)
        new_id = (record_id or given_id or str(uuid.uuid4())).lower()
        now = utc_now_text()
        record: Record = {table.primary_id: new_id}
        for name, value in values.items():
            if name not in SYSTEM_COLUMNS or name == "overriddencreatedon":
                record[name] = value
        self._apply_lookups(record, prepared.lookups)
        if table.is_activity and "activityid" in table.attributes:
            record["activityid"] = new_id
        self._stamp_created(table, record, now, caller)
        self._apply_state_on_create(table, record, new_id)
        self._derive_columns(table, record)
        record["versionnumber"] = self.store.next_version()
        return record

    def _stamp_created(
        self, table: TableMeta, record: Record, now: str, caller: Caller | None
    ) -> None:
        attributes = table.attributes
        overridden = record.pop("overriddencreatedon", None)
        if "createdon" in attributes:
            record["createdon"] = self._as_datetime_text(overridden) if overridden else now
        if "overriddencreatedon" in attributes:
            # The supplied value lands in createdon; overriddencreatedon records the migration time.
            record["overriddencreatedon"] = now if overridden else None
        if "modifiedon" in attributes:
            record["modifiedon"] = now
        if caller is not None:
            for column in ("createdby", "modifiedby"):
                if column in attributes:
                    self._set_lookup(record, column, "systemuser", caller.systemuserid)
            if "ownerid" in attributes and lookup_column("ownerid") not in record:
                self._set_lookup(record, "ownerid", "systemuser", caller.systemuserid)
            if caller.businessunitid and "owningbusinessunit" in attributes:
                self._set_lookup(
                    record, "owningbusinessunit", "businessunit", caller.businessunitid
                )
        self._sync_owner_columns(table, record)

    @staticmethod
    def _as_datetime_text(value: Any) -> Any:
        if isinstance(value, str) and len(value) == 10:
            return f"{value}T00:00:00Z"
        return value

    def _sync_owner_columns(self, table: TableMeta, record: Record) -> None:
        owner_type = record.get(lookup_column("ownerid") + LOOKUP_TYPE)
        if owner_type is None:
            return
        owner = record.get(lookup_column("ownerid"))
        if "owninguser" in table.attributes:
            self._set_lookup(
                record, "owninguser", "systemuser", owner if owner_type == "systemuser" else None
            )
        if "owningteam" in table.attributes:
            self._set_lookup(record, "owningteam", "team", owner if owner_type == "team" else None)

    def _apply_state_on_create(self, table: TableMeta, record: Record, record_id: str) -> None:
        state = table.attributes.get("statecode")
        status = table.attributes.get("statuscode")
        if state is None:
            return
        initial_state = min(state.options) if state.options else 0
        record["statecode"] = initial_state
        if status is None:
            return
        given = record.get("statuscode")
        if given is None:
            record["statuscode"] = state.default_status.get(initial_state)
        else:
            self._check_status_for_state(table, record_id, initial_state, given)

    def _check_status_for_state(
        self, table: TableMeta, record_id: str, state_value: int, status_value: int
    ) -> None:
        state = table.attributes["statecode"]
        status = table.attributes["statuscode"]
        if status.option_state.get(status_value, state_value) == state_value:
            return
        state_label = state.options.get(state_value, str(state_value)).replace(" ", "")
        raise ApiError(
            400,
            errors.PICKLIST_OUT_OF_RANGE,
            f"{status_value} is not a valid status code for state code "
            f"{table.schema_name}State.{state_label} on {table.logical_name} with Id {record_id}.",
        )

    def _derive_columns(self, table: TableMeta, record: Record) -> None:
        attributes = table.attributes
        if (
            "fullname" in attributes
            and not attributes["fullname"].valid_for_create
            and ("firstname" in record or "lastname" in record)
        ):
            parts = [record.get("firstname"), record.get("lastname")]
            record["fullname"] = " ".join(p for p in parts if p) or None
        if table.logical_name == "annotation":
            body = record.get("documentbody")
            if body and len(body) > self.max_upload_size():
                raise ApiError(400, errors.ATTACHMENT_TOO_BIG, "Attachment file size is too big.")
            record["isdocument"] = bool(body)
            if "filesize" in attributes:
                record["filesize"] = _base64_decoded_size(body) if body else 0

    def _apply_lookups(self, record: Record, lookups: dict[str, tuple[str, str] | None]) -> None:
        for attribute, target in lookups.items():
            if target is None:
                self._set_lookup(record, attribute, None, None)
            else:
                self._set_lookup(record, attribute, target[0], target[1])

    @staticmethod
    def _set_lookup(record: Record, attribute: str, target: str | None, value: str | None) -> None:
        column = lookup_column(attribute)
        record[column] = value
        if value is None:
            record.pop(column + LOOKUP_TYPE, None)
        else:
            record[column + LOOKUP_TYPE] = target

    def _insert(self, table: TableMeta, rows: list[tuple[str, Record]]) -> None:
        try:
            self.store.insert_many(
                table.logical_name, [(rid, rec["versionnumber"], rec) for rid, rec in rows]
            )
        except DuplicateKey as error:
            raise ApiError(
                412, errors.DUPLICATE_RECORD, "A record with matching key values already exists."
            ) from error
        self._index_keys(table, rows)

    def _index_keys(self, table: TableMeta, rows: list[tuple[str, Record]]) -> None:
        keys = table.active_keys()
        if not keys:
            return
        entries: list[tuple[str, str, str]] = []
        for record_id, record in rows:
            for key in keys:
                values = [column_value(record, table, name) for name in key.attributes]
                if any(value is None for value in values):
                    self.store.clear_key(table.logical_name, key.logical_name, record_id)
                    continue
                entries.append((key.logical_name, key_index_value(values), record_id))
        try:
            self.store.set_keys(table.logical_name, entries)
        except DuplicateKey as error:
            key = next(k for k in keys if k.logical_name == error.key_name)
            columns = ", ".join(key.attributes)
            raise ApiError(
                412,
                errors.DUPLICATE_ENTITY_KEY,
                f"Entity Key {key.schema_name} violated. A record with the same value for "
                f"{columns} already exists. A duplicate record cannot be created. Try again "
                f"with unique values for {columns}.",
            ) from error

    def _after_write(
        self, table: TableMeta, record_id: str, prepared: PreparedWrite, caller: Caller | None
    ) -> None:
        if prepared.parties is not None:
            self.replace_parties(table, record_id, prepared.parties)
        for name, children in prepared.children.items():
            collection = table.collections[name]
            child_table = self.catalog.require(collection.entity)
            nav = self._navigation_back(child_table, collection.attribute, table.logical_name)
            for child in children:
                body = dict(child)
                body[f"{nav}@odata.bind"] = f"/{table.entity_set}({record_id})"
                self.create(child_table, body, caller=caller)
        for name, references in prepared.associate.items():
            collection = table.collections[name]
            child_table = self.catalog.require(collection.entity)
            back = self._navigation_back(child_table, collection.attribute, table.logical_name)
            bind = {f"{back}@odata.bind": f"/{table.entity_set}({record_id})"}
            for _, child_id in references:
                self.update(child_table, child_id, bind, caller=caller)

    @staticmethod
    def _navigation_back(child: TableMeta, attribute: str, parent: str) -> str:
        for navigation in child.navigations.values():
            if navigation.attribute == attribute and parent in navigation.targets:
                return navigation.name
        raise ApiError(
            400, errors.ODATA_ERROR, f"No navigation from {child.logical_name} to {parent}."
        )

    def replace_parties(self, activity: TableMeta, activity_id: str, parties: list[Any]) -> None:
        party_table = self.catalog.require("activityparty")
        for existing in self.store.find_by_column(
            "activityparty", lookup_column("activityid"), activity_id
        ):
            self.store.delete("activityparty", existing["activitypartyid"])
        rows = []
        for party in parties:
            prepared = self.prepare(party_table, party, "create")
            prepared.lookups["activityid"] = (activity.logical_name, activity_id)
            record = self.build_new_record(party_table, prepared, None)
            rows.append((record["activitypartyid"], record))
        if rows:
            self._insert(party_table, rows)

    def update(
        self,
        table: TableMeta,
        record_id: str,
        payload: Any,
        *,
        caller: Caller | None = None,
        if_match: str | None = None,
    ) -> None:
        with self.store.atomic():
            existing = self.store.get(table.logical_name, record_id)
            if existing is None:
                raise errors.record_not_found(table.logical_name, record_id)
            self._check_etag(existing, if_match)
            prepared = self.prepare(table, payload, "update")
            record = self.apply_update(table, existing, prepared, caller)
            self.store.replace_many(
                table.logical_name, [(record_id, record["versionnumber"], record)]
            )
            self._index_keys(table, [(record_id, record)])
            self._after_write(table, record_id, prepared, caller)

    def apply_update(
        self, table: TableMeta, existing: Record, prepared: PreparedWrite, caller: Caller | None
    ) -> Record:
        record = dict(existing)
        record_id = record[table.primary_id]
        values = dict(prepared.values)
        values.pop(table.primary_id, None)
        for name in SYSTEM_COLUMNS:
            values.pop(name, None)
        new_state = values.pop("statecode", None)
        record.update(values)
        self._apply_lookups(record, prepared.lookups)
        if "ownerid" in prepared.lookups:
            self._sync_owner_columns(table, record)
        if new_state is not None and "statecode" in table.attributes:
            record["statecode"] = new_state
            if "statuscode" in table.attributes and values.get("statuscode") is None:
                record["statuscode"] = table.attributes["statecode"].default_status.get(new_state)
        if values.get("statuscode") is not None and "statecode" in table.attributes:
            self._check_status_for_state(
                table, record_id, record.get("statecode", 0), values["statuscode"]
            )
        if "modifiedon" in table.attributes:
            record["modifiedon"] = utc_now_text()
        if caller is not None and "modifiedby" in table.attributes:
            self._set_lookup(record, "modifiedby", "systemuser", caller.systemuserid)
        self._derive_columns(table, record)
        record["versionnumber"] = self.store.next_version()
        return record

    @staticmethod
    def _check_etag(existing: Record, if_match: str | None) -> None:
        if if_match is None or if_match.strip() == "*":
            return
        expected = if_match.strip().removeprefix("W/").strip('"')
        if expected != str(existing.get("versionnumber")):
            raise ApiError(
                412,
                "0x80060882",
                "The version of the existing record doesn't match the RowVersion property "
                "provided.",
            )

    def upsert(
        self,
        table: TableMeta,
        key_text: str,
        payload: Any,
        *,
        caller: Caller | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[bool, str]:
        """(created, record id) for `PATCH <set>(<key>)`, honouring If-Match / If-None-Match."""
        with self.store.atomic():
            record_id, key_values = self.resolve_key(table, key_text)
            if record_id is not None:
                if if_none_match is not None and if_none_match.strip() == "*":
                    raise ApiError(412, "", "A record with matching key values already exists.")
                body = (
                    {k: v for k, v in payload.items() if k not in key_values}
                    if isinstance(payload, dict)
                    else payload
                )
                self.update(table, record_id, body, caller=caller, if_match=if_match)
                return False, record_id
            if if_match is not None:
                parsed = parse_key_text(key_text)
                if isinstance(parsed, str):
                    raise errors.record_not_found(table.logical_name, parsed)
                raise errors.key_record_not_found(table.logical_name)
            parsed = parse_key_text(key_text)
            new_id = parsed if isinstance(parsed, str) else None
            if isinstance(parsed, dict) and table.primary_id in parsed:
                new_id = parsed[table.primary_id]
            created = self.create(
                table, payload, caller=caller, record_id=new_id, key_values=key_values
            )
            return True, created

    def delete(self, table: TableMeta, record_id: str, *, if_match: str | None = None) -> None:
        with self.store.atomic():
            existing = self.store.get(table.logical_name, record_id)
            if existing is None:
                raise errors.record_not_found(table.logical_name, record_id)
            self._check_etag(existing, if_match)
            self.store.delete(table.logical_name, record_id)
            if table.is_activity:
                for party in self.store.find_by_column(
                    "activityparty", lookup_column("activityid"), record_id
                ):
                    self.store.delete("activityparty", party["activitypartyid"])

    # -- bulk ----------------------------------------------------------------------------------

    def create_many(self, table: TableMeta, targets: list[Any], caller: Caller | None) -> list[str]:
        with self.store.atomic():
            rows: list[tuple[str, Record]] = []
            followups: list[tuple[str, PreparedWrite]] = []
            for target in targets:
                prepared = self.prepare(table, target, "create")
                record = self.build_new_record(table, prepared, caller)
                rows.append((record[table.primary_id], record))
                if prepared.parties is not None or prepared.children or prepared.associate:
                    followups.append((record[table.primary_id], prepared))
            self._insert(table, rows)
            for record_id, prepared in followups:
                self._after_write(table, record_id, prepared, caller)
            return [record_id for record_id, _ in rows]

    def update_many(self, table: TableMeta, targets: list[Any], caller: Caller | None) -> None:
        with self.store.atomic():
            seen: set[str] = set()
            for target in targets:
                if not isinstance(target, dict) or not target.get(table.primary_id):
                    raise ApiError(
                        400,
                        errors.INVALID_ARGUMENT,
                        f"The primary key attribute '{table.primary_id}' is required for "
                        "UpdateMultiple.",
                    )
                record_id = str(target[table.primary_id]).lower()
                if record_id in seen:
                    continue  # later duplicates are ignored, as Dataverse does
                seen.add(record_id)
                self.update(table, record_id, target, caller=caller)

    def upsert_many(self, table: TableMeta, targets: list[Any], caller: Caller | None) -> None:
        with self.store.atomic():
            keys_seen: set[str] = set()
            for target in targets:
                if not isinstance(target, dict):
                    raise ApiError(400, errors.INVALID_ARGUMENT, "Each target must be an entity.")
                key_text = self._upsert_target_key(table, target)
                if key_text.lower() in keys_seen:
                    raise ApiError(
                        400,
                        errors.INVALID_ARGUMENT,
                        "An item with the same key has already been added. Duplicate key "
                        f"{key_text} in the Targets of UpsertMultiple.",
                    )
                keys_seen.add(key_text.lower())
                body = {k: v for k, v in target.items() if k != "@odata.id"}
                self.upsert(table, key_text, body, caller=caller)

    def _upsert_target_key(self, table: TableMeta, target: Record) -> str:
        odata_id = target.get("@odata.id")
        if isinstance(odata_id, str):
            path = odata_id.split(API_PATH, 1)[-1].lstrip("/")
            match = _ENTITY_REF_RE.match(path)
            if match is None or match.group("set") != table.entity_set:
                raise ApiError(400, errors.ODATA_ERROR, f"The @odata.id '{odata_id}' is not valid.")
            return match.group("key")
        primary = target.get(table.primary_id)
        if isinstance(primary, str) and _GUID_RE.match(primary):
            return primary.lower()
        raise ApiError(
            400,
            errors.INVALID_ARGUMENT,
            f"Each UpsertMultiple target needs '@odata.id' or '{table.primary_id}'.",
        )

    # -- reading -------------------------------------------------------------------------------

    def present(
        self,
        table: TableMeta,
        record: Record,
        select: list[str] | None,
        include_annotation: Callable[[str], bool] | None = None,
    ) -> Record:
        columns = self.select_columns(table, select)
        out: Record = {"@odata.etag": f'W/"{record.get("versionnumber", 0)}"'}
        for column in columns:
            value = record.get(column)
            if include_annotation is not None and value is not None:
                self._annotate(table, record, column, value, include_annotation, out)
            out[column] = value
        return out

    def select_columns(self, table: TableMeta, select: list[str] | None) -> list[str]:
        if not select:
            return list(table.readable_columns)
        columns = [table.primary_id]
        for name in select:
            attribute = table.attributes.get(name)
            if attribute is not None:
                column = lookup_column(name) if attribute.is_lookup else name
            elif (
                name.startswith("_") and name.endswith("_value") and name[1:-6] in table.attributes
            ):
                column = name
            else:
                raise errors.select_property_not_found(name, table.type_name)
            if column not in columns:
                columns.append(column)
        return columns

    def _annotate(
        self,
        table: TableMeta,
        record: Record,
        column: str,
        value: Any,
        include: Callable[[str], bool],
        out: Record,
    ) -> None:
        if column.startswith("_") and column.endswith("_value"):
            attribute = column[1:-6]
            target = record.get(column + LOOKUP_TYPE)
            if include("OData.Community.Display.V1.FormattedValue") and target:
                out[column + FORMATTED] = self._primary_name_of(target, value)
            if include("Microsoft.Dynamics.CRM.associatednavigationproperty"):
                out[column + NAVIGATION] = self._navigation_name(table, attribute, target)
            if include("Microsoft.Dynamics.CRM.lookuplogicalname"):
                out[column + LOOKUP_TYPE] = target
            return
        if not include("OData.Community.Display.V1.FormattedValue"):
            return
        meta = table.attributes.get(column)
        if meta is None:
            return
        formatted = _formatted_value(meta, value)
        if formatted is not None:
            out[column + FORMATTED] = formatted

    def _primary_name_of(self, entity: str, record_id: Any) -> str | None:
        target = self.catalog.get(entity)
        if target is None or not target.primary_name or not isinstance(record_id, str):
            return None
        record = self.store.get(entity, record_id)
        return record.get(target.primary_name) if record else None

    @staticmethod
    def _navigation_name(table: TableMeta, attribute: str, target: str | None) -> str | None:
        for navigation in table.navigations.values():
            if navigation.attribute == attribute and (
                target is None or target in navigation.targets
            ):
                return navigation.name
        return None


def _formatted_value(meta: AttributeMeta, value: Any) -> str | None:
    kind = meta.attribute_type
    if kind in ("Picklist", "State", "Status", "Boolean"):
        key = int(value) if not isinstance(value, bool) else int(value)
        return meta.options.get(key, "Yes" if value is True else "No" if value is False else None)
    if kind == "Money" and isinstance(value, int | float):
        return f"${value:,.2f}"
    if kind in ("Integer", "BigInt") and isinstance(value, int):
        return f"{value:,}"
    if kind in ("Decimal", "Double") and isinstance(value, int | float):
        return f"{value:,.2f}"
    if kind == "DateTime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if len(value) == 10 or meta.raw.get("Format") == "DateOnly":
            return f"{moment.month}/{moment.day}/{moment.year}"
        return (
            f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M %p').lstrip('0')}"
        )
    return None


def _base64_decoded_size(body: str) -> int:
    padding = len(body) - len(body.rstrip("="))
    return max(len(body) * 3 // 4 - padding, 0)

"""The record engine: validate writes against the catalog, resolve `@odata.bind` and keys, apply
Dataverse's server-side rules (defaults, state/status, overriddencreatedon, activity parties,
annotation files), and render records as the Web API returns them.

Stored form of a record: logical name -> value for plain columns; a lookup as `_<attr>_value` plus
`_<attr>_value@Microsoft.Dynamics.CRM.lookuplogicalname`; `versionnumber` always.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as _encode_json_string
from typing import Any

from . import errors
from .catalog import AttributeMeta, Catalog, KeyMeta, TableMeta, ValueRejected
from .errors import ApiError
from .solutions import RECORD_RULES
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
    """Alternate-key values as indexed: strings compared case-insensitively, as SQL Server does.

    The text is `json.dumps([...], separators=(",", ":"))` of the normalised values (the form
    stored by earlier versions), built part by part because it runs for every record written."""
    parts = []
    for value in values:
        if isinstance(value, str):
            parts.append(_encode_json_string(value.strip().lower()))
        elif value is True or value is False or value is None or type(value) is not int:
            parts.append(json.dumps(value))
        else:
            parts.append(str(value))
    return "[" + ",".join(parts) + "]"


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
        self._local = _EngineLocal()
        # table -> check(store, record, new) run on every record written to it (solutions.py)
        self.record_rules = dict(RECORD_RULES)

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
        record_id, alternate, key_values = self.parse_record_key(table, key_text)
        if alternate is None:
            assert record_id is not None
            return (record_id if self.store.exists(table.logical_name, record_id) else None), {}
        return self.store.key_lookup(table.logical_name, *alternate), key_values

    def parse_record_key(
        self, table: TableMeta, key_text: str
    ) -> tuple[str | None, tuple[str, str] | None, dict[str, Any]]:
        """A URL key checked against the table without reading storage: `(guid, None, {})` for a
        primary key, `(None, (key name, index value), key values)` for an active alternate key."""
        try:
            parsed = parse_key_text(key_text)
        except ValueError as error:
            raise errors.invalid_key(table.type_name) from error
        if isinstance(parsed, str):
            return parsed, None, {}
        if set(parsed) == {table.primary_id}:
            value = parsed[table.primary_id]
            if not isinstance(value, str) or not _GUID_RE.match(value):
                raise errors.invalid_key(table.type_name)
            return value, None, {}
        key = self._matching_key(table, parsed)
        key_values = {
            name: parsed[self._key_part_name(table, name, parsed)] for name in key.attributes
        }
        return None, (key.logical_name, key_index_value(key_values.values())), key_values

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
        bulk = self._local.bulk
        if bulk is not None:
            found = bulk.reference(reference)
            if found is not None:
                return found
            bulk.flush()  # the record may be one this request has prepared but not yet written
        table, key = self._parse_reference(reference)
        record_id, _ = self.resolve_key(table, key)
        if record_id is None:
            if _GUID_RE.match(key.strip()):
                raise errors.record_not_found(table.logical_name, key.strip().lower())
            raise errors.key_record_not_found(table.logical_name)
        return RecordRef(table, record_id)

    def _parse_reference(self, reference: str) -> tuple[TableMeta, str]:
        """(table, key text) of an entity reference, without reading storage."""
        path = reference
        if API_PATH in path:
            path = path.split(API_PATH, 1)[1]
        path = path.lstrip("/")
        match = _ENTITY_REF_RE.match(path)
        if match is None:
            raise ApiError(
                400, errors.ODATA_ERROR, f"The URI '{reference}' is not valid for entity reference."
            )
        return self.table_for_set(match.group("set")), match.group("key")

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
                if self._local.bulk is not None:
                    self._local.bulk.flush()
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
        rule = self.record_rules.get(table.logical_name)
        if rule is not None:
            rule(self.store, record, True)
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
        self._write(table, rows, [])

    def _write(
        self,
        table: TableMeta,
        inserts: list[tuple[str, Record]],
        updates: list[tuple[str, Record]],
        key_values: dict[str, dict[str, str | None]] | None = None,
    ) -> None:
        """New and changed records of one table: one statement each, then their key index."""
        if inserts:
            try:
                self.store.insert_many(
                    table.logical_name, [(rid, rec["versionnumber"], rec) for rid, rec in inserts]
                )
            except DuplicateKey as error:
                raise ApiError(
                    412,
                    errors.DUPLICATE_RECORD,
                    "A record with matching key values already exists.",
                ) from error
        if updates:
            self.store.update_many(
                table.logical_name, [(rid, rec["versionnumber"], rec) for rid, rec in updates]
            )
        self._index_keys(table, inserts + updates if updates else inserts, key_values)

    def _index_keys(
        self,
        table: TableMeta,
        rows: list[tuple[str, Record]],
        computed: dict[str, dict[str, str | None]] | None = None,
    ) -> None:
        """Index the alternate-key values of written records (`computed`: record id -> key name
        -> index value, where the caller already has them)."""
        keys = table.active_keys()
        if not keys:
            return
        values_by_record: dict[tuple[str, str], str] = {}
        cleared: list[tuple[str, str]] = []
        for record_id, record in rows:
            known = computed.get(record_id) if computed else None
            for key in keys:
                if known is not None and key.logical_name in known:
                    value = known[key.logical_name]
                else:
                    value = _key_value(table, record, key)
                if value is None:
                    cleared.append((key.logical_name, record_id))
                    values_by_record.pop((key.logical_name, record_id), None)
                    continue
                values_by_record[(key.logical_name, record_id)] = value
        if cleared:
            self.store.clear_keys(table.logical_name, cleared)
        entries = [(name, value, rid) for (name, rid), value in values_by_record.items()]
        try:
            self.store.set_keys(table.logical_name, entries)
        except DuplicateKey as error:
            key = next(k for k in keys if k.logical_name == error.key_name)
            raise duplicate_entity_key(key) from error

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
        rule = self.record_rules.get(table.logical_name)
        if rule is not None:
            rule(self.store, record, False)
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
        with self.store.atomic(), self._bulk_context(table, targets, caller) as bulk:
            ids: list[str] = []
            for target in targets:
                prepared = self.prepare(table, target, "create")
                record = self.build_new_record(table, prepared, caller)
                record_id = record[table.primary_id]
                bulk.put(record_id, record, prepared, new=True)
                ids.append(record_id)
            return ids

    def update_many(self, table: TableMeta, targets: list[Any], caller: Caller | None) -> None:
        with self.store.atomic():
            by_id: dict[str, Record] = {}
            for target in targets:
                if not isinstance(target, dict) or not target.get(table.primary_id):
                    raise ApiError(
                        400,
                        errors.INVALID_ARGUMENT,
                        f"The primary key attribute '{table.primary_id}' is required for "
                        "UpdateMultiple.",
                    )
                # later duplicates are ignored, as Dataverse does
                by_id.setdefault(str(target[table.primary_id]).lower(), target)
            with self._bulk_context(table, targets, caller) as bulk:
                bulk.load_ids(by_id)
                for record_id, target in by_id.items():
                    existing = bulk.records.get(record_id)
                    if existing is None:
                        raise errors.record_not_found(table.logical_name, record_id)
                    prepared = self.prepare(table, target, "update")
                    record = self.apply_update(table, existing, prepared, caller)
                    bulk.put(record_id, record, prepared, new=False)

    def upsert_many(self, table: TableMeta, targets: list[Any], caller: Caller | None) -> None:
        """Every target resolved up front (one query for the ids, one per alternate key), then
        created or updated in order against what the request has written so far, so a target may
        find a record an earlier target created; written with one statement per kind."""
        with self.store.atomic():
            keys_seen: set[str] = set()
            plan: list[tuple[str | None, tuple[str, str] | None, dict[str, Any], Record]] = []
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
                plan.append((*self.parse_record_key(table, key_text), body))
            with self._bulk_context(table, targets, caller) as bulk:
                bulk.load_ids(record_id for record_id, _, _, _ in plan if record_id is not None)
                bulk.load_keys(alternate for _, alternate, _, _ in plan if alternate is not None)
                for record_id, alternate, key_values, body in plan:
                    found = bulk.find(record_id, alternate)
                    if found is not None:
                        update = {k: v for k, v in body.items() if k not in key_values}
                        prepared = self.prepare(table, update, "update")
                        record = self.apply_update(table, bulk.records[found], prepared, caller)
                        bulk.put(found, record, prepared, new=False)
                        continue
                    prepared = self.prepare(table, body, "create")
                    record = self.build_new_record(table, prepared, caller, record_id, key_values)
                    bulk.put(record[table.primary_id], record, prepared, new=True)

    @contextmanager
    def _bulk_context(
        self, table: TableMeta, targets: list[Any], caller: Caller | None
    ) -> Iterator[_BulkWrite]:
        """A bulk request's write-behind state: flushed at the end (inside the caller's
        transaction), then the follow-up writes (parties, deep inserts) run record by record."""
        if self._local.bulk is not None:  # a bulk message inside a bulk message: no nesting
            raise ApiError(400, errors.INVALID_ARGUMENT, "Bulk messages cannot be nested.")
        bulk = _BulkWrite(self, table, caller)
        bulk.load_references(targets)
        self._local.bulk = bulk
        try:
            yield bulk
            bulk.flush()
        finally:
            self._local.bulk = None
        for record_id, prepared in bulk.followups:
            self._after_write(table, record_id, prepared, caller)

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


def _key_value(table: TableMeta, record: Record, key: KeyMeta) -> str | None:
    """The index value of `key` for a record, or None when a key column is null."""
    values = [column_value(record, table, name) for name in key.attributes]
    if any(value is None for value in values):
        return None
    return key_index_value(values)


def duplicate_entity_key(key: KeyMeta) -> ApiError:
    columns = ", ".join(key.attributes)
    return ApiError(
        412,
        errors.DUPLICATE_ENTITY_KEY,
        f"Entity Key {key.schema_name} violated. A record with the same value for "
        f"{columns} already exists. A duplicate record cannot be created. Try again "
        f"with unique values for {columns}.",
    )


class _EngineLocal(threading.local):
    bulk: _BulkWrite | None = None


_UNKNOWN = object()


@dataclass
class _Reference:
    table: TableMeta
    record_id: str | None  # the id (GUID references) or the key holder read up front
    alternate: tuple[str, str] | None  # (key name, index value) for alternate-key references
    exists: bool


class _BulkWrite:
    """One bulk request on one table: the records it has read or written (by id, as they stand
    after the earlier targets), who holds the alternate-key values it touched, the `@odata.bind`
    references of its targets read up front, and the writes not yet flushed to storage."""

    def __init__(self, engine: RecordEngine, table: TableMeta, caller: Caller | None) -> None:
        self.engine = engine
        self.store = engine.store
        self.table = table
        self.caller = caller
        self.keys = table.active_keys()
        self.records: dict[str, Record] = {}
        self.key_holders: dict[tuple[str, str], str | None] = {}
        self.references: dict[str, _Reference] = {}
        self.inserts: dict[str, Record] = {}
        self.updates: dict[str, Record] = {}
        self.followups: list[tuple[str, PreparedWrite]] = []
        # record id -> key name -> index value (None: a key column is null) of records put
        self.key_values: dict[str, dict[str, str | None]] = {}

    # -- reading up front ----------------------------------------------------------------------

    def load_ids(self, record_ids: Iterable[str]) -> None:
        wanted = [rid for rid in record_ids if rid not in self.records]
        if wanted:
            self.records.update(self.store.get_many(self.table.logical_name, wanted))

    def load_keys(self, alternates: Iterable[tuple[str, str]]) -> None:
        by_key: dict[str, list[str]] = {}
        for key_name, value in alternates:
            by_key.setdefault(key_name, []).append(value)
        holders: list[str] = []
        for key_name, values in by_key.items():
            found = self.store.key_lookup_many(self.table.logical_name, key_name, values)
            for value in values:
                holder = found.get(value)
                self.key_holders[(key_name, value)] = holder
                if holder is not None:
                    holders.append(holder)
        self.load_ids(holders)

    def load_references(self, targets: list[Any]) -> None:
        """Resolve every `@odata.bind` of the targets with one query per table (GUIDs) or per
        alternate key; a reference that cannot be parsed is left to the normal path's errors."""
        texts: set[str] = set()
        for target in targets:
            if not isinstance(target, dict):
                continue
            for name, value in target.items():
                if not name.endswith("@odata.bind"):
                    continue
                if isinstance(value, str):
                    texts.add(value)
                elif isinstance(value, list):
                    texts.update(item for item in value if isinstance(item, str))
        if not texts:
            return
        by_id: dict[str, tuple[TableMeta, list[tuple[str, str]]]] = {}
        by_key: dict[tuple[str, str], tuple[TableMeta, list[tuple[str, str]]]] = {}
        for text in texts:
            try:
                table, key_text = self.engine._parse_reference(text)
                record_id, alternate, _ = self.engine.parse_record_key(table, key_text)
            except ApiError:
                continue
            if alternate is None:
                assert record_id is not None
                by_id.setdefault(table.logical_name, (table, []))[1].append((text, record_id))
            else:
                entry = by_key.setdefault((table.logical_name, alternate[0]), (table, []))
                entry[1].append((text, alternate[1]))
        for entity, (table, items) in by_id.items():
            found = self.store.existing_ids(entity, [rid for _, rid in items])
            for text, rid in items:
                self.references[text] = _Reference(table, rid, None, rid in found)
        for (entity, key_name), (table, items) in by_key.items():
            holders = self.store.key_lookup_many(entity, key_name, [value for _, value in items])
            for text, value in items:
                holder = holders.get(value)
                self.references[text] = _Reference(
                    table, holder, (key_name, value), holder is not None
                )

    # -- resolving -----------------------------------------------------------------------------

    def find(self, record_id: str | None, alternate: tuple[str, str] | None) -> str | None:
        """The id of the record a target addresses, or None if there is none (yet)."""
        if alternate is not None:
            record_id = self.key_holders.get(alternate)
        return record_id if record_id is not None and record_id in self.records else None

    def reference(self, text: str) -> RecordRef | None:
        """A bind resolved from what was read up front and what this request wrote; None when
        that does not settle it (the caller then reads storage after a flush)."""
        entry = self.references.get(text)
        if entry is None:
            return None
        record_id, exists = entry.record_id, entry.exists
        if entry.table is self.table:
            if entry.alternate is not None:
                holder = self.key_holders.get(entry.alternate, _UNKNOWN)
                if holder is not _UNKNOWN:
                    record_id, exists = holder, holder is not None  # type: ignore[assignment]
            elif record_id in self.records:
                exists = True
        if not exists or record_id is None:
            return None
        return RecordRef(entry.table, record_id)

    # -- writing -------------------------------------------------------------------------------

    def put(self, record_id: str, record: Record, prepared: PreparedWrite, *, new: bool) -> None:
        previous = self.records.get(record_id)
        if new and previous is not None:
            raise ApiError(
                412, errors.DUPLICATE_RECORD, "A record with matching key values already exists."
            )
        if self.keys:
            self._claim_keys(record_id, record, previous)
        self.records[record_id] = record
        if new or record_id in self.inserts:
            self.inserts[record_id] = record
        else:
            self.updates[record_id] = record
        if prepared.parties is not None or prepared.children or prepared.associate:
            self.followups.append((record_id, prepared))

    def _claim_keys(self, record_id: str, record: Record, previous: Record | None) -> None:
        """Track who holds the key values; a value another record holds is Dataverse's
        duplicate-key error, raised here as the record-by-record path raises it."""
        before = self.key_values.get(record_id)
        now: dict[str, str | None] = {}
        for key in self.keys:
            value = now[key.logical_name] = _key_value(self.table, record, key)
            if previous is not None:
                if before is not None and key.logical_name in before:
                    old = before[key.logical_name]
                else:
                    old = _key_value(self.table, previous, key)
                if old is not None and old != value:
                    slot = (key.logical_name, old)
                    if self.key_holders.get(slot, record_id) == record_id:
                        self.key_holders[slot] = None
            if value is not None:
                holder = self.key_holders.get((key.logical_name, value))
                if holder is not None and holder != record_id:
                    raise duplicate_entity_key(key)
                self.key_holders[(key.logical_name, value)] = record_id
        self.key_values[record_id] = now

    def flush(self) -> None:
        if not self.inserts and not self.updates:
            return
        inserts, updates = list(self.inserts.items()), list(self.updates.items())
        self.inserts, self.updates = {}, {}
        self.engine._write(self.table, inserts, updates, self.key_values)


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

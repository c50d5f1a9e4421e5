"""The Web API v9.2 routes: records, queries, bulk messages, `$batch`, functions and the special
sets (`sdkmessagefilters`, `organizations`). Transport-free: `WebApi.handle(ApiRequest)` returns
an `ApiResponse`, so `$batch` runs its parts through exactly the same code as single requests.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson

from . import batch_codec, errors, odata_query
from .catalog import TableMeta
from .errors import ApiError
from .records import API_PATH, LOOKUP_TYPE, Caller, RecordEngine, lookup_column

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; odata.metadata=minimal"
MAX_PAGE_SIZE = 5000
BULK_MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
_SEGMENT_RE = re.compile(r"^(?P<name>[^()]+)(?:\((?P<key>.*)\))?$", re.S)
_CONTENT_ID_RE = re.compile(r"^\$(?P<id>[\w-]+)(?P<rest>/.*)?$")


@dataclass
class ApiRequest:
    method: str
    path: str  # below /api/data/v9.2/, percent-decoded, no leading slash
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    caller: Caller

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def option(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # how many records the request wrote or read (for the server-cost model)
    records: int = 0


def dumps_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON; orjson, or the standard library for what orjson refuses (integers
    beyond 64 bits)."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> ApiResponse:
    body = dumps_json(payload)
    return ApiResponse(
        status, {"Content-Type": JSON_TYPE, "OData-Version": "4.0", **(headers or {})}, body
    )


def error_response(error: ApiError) -> ApiResponse:
    return json_response(error.status, error.body())


def no_content(headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(204, {"OData-Version": "4.0", **(headers or {})})


def split_path(path: str) -> list[str]:
    """Split on `/` outside parentheses and quotes."""
    segments, depth, start, quoted = [], 0, 0, False
    for position, char in enumerate(path):
        if char == "'" and depth:
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "/" and depth == 0:
            segments.append(path[start:position])
            start = position + 1
    segments.append(path[start:])
    return [segment for segment in segments if segment != ""]


def parse_json_body(body: bytes) -> Any:
    if not body.strip():
        raise ApiError(
            400, errors.ODATA_ERROR, "The request body is empty: a JSON payload is required."
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # the standard library's verdict (and message), as before orjson was used
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise errors.malformed_json(str(error)) from error


class Preferences:
    def __init__(self, header: str | None) -> None:
        self.values = odata_query.parse_prefer(header or "")

    @property
    def return_representation(self) -> bool:
        return self.values.get("return") == "representation"

    @property
    def continue_on_error(self) -> bool:
        return "odata.continue-on-error" in self.values

    def max_page_size(self) -> int | None:
        raw = self.values.get("odata.maxpagesize")
        if raw is None:
            return None
        try:
            return max(1, min(int(raw), MAX_PAGE_SIZE))
        except ValueError:
            return None

    def annotation_filter(self) -> Callable[[str], bool] | None:
        raw = self.values.get("odata.include-annotations")
        if raw is None:
            return None
        patterns = [item.strip() for item in raw.split(",") if item.strip()]

        def include(name: str) -> bool:
            for pattern in patterns:
                if pattern == "*" or pattern == name:
                    return True
                if pattern.endswith(".*") and name.startswith(pattern[:-1]):
                    return True
            return False

        return include


class WebApi:
    def __init__(self, engine: RecordEngine, organization_id: str, metadata_api: Any = None):
        self.engine = engine
        self.catalog = engine.catalog
        self.store = engine.store
        self.organization_id = organization_id
        self.metadata_api = metadata_api

    @property
    def api_url(self) -> str:
        return self.engine.api_url

    # -- entry ---------------------------------------------------------------------------------

    def handle(self, request: ApiRequest) -> ApiResponse:
        if self.metadata_api is not None:
            self.metadata_api.tick()
        try:
            return self._route(request)
        except ApiError as error:
            return error_response(error)
        except odata_query.ODataQueryError as error:
            return error_response(ApiError(400, error.code, error.message))
        except batch_codec.BatchFormatError as error:
            return error_response(ApiError(400, errors.ODATA_ERROR, error.message))
        except Exception:  # the server stays up; the client sees Dataverse's unexpected error
            log.exception("unexpected error handling %s %s", request.method, request.path)
            return error_response(ApiError(500, errors.UNEXPECTED, "An unexpected error occurred."))

    def _route(self, request: ApiRequest) -> ApiResponse:
        segments = split_path(request.path)
        if not segments:
            return self._service_document()
        head = segments[0]
        match = _SEGMENT_RE.match(head)
        if match is None:
            raise errors.segment_not_found(head)
        name, key = match.group("name"), match.group("key")
        method = request.method
        if name == "$batch" and method == "POST":
            return self._batch(request)
        if name == "WhoAmI" and method == "GET":
            return self._who_am_i(request)
        if self.metadata_api is not None and self.metadata_api.handles(name):
            return self.metadata_api.handle(request, segments)
        if name == "sdkmessagefilters" and method == "GET":
            return self._sdk_message_filters(request)
        if name == "organizations" and method == "GET" and key is None:
            return self._organizations(request)
        if name == "organizations" and method == "PATCH" and key is not None:
            return self._update_organization(request)
        table = self.engine.table_for_set(name)
        rest = segments[1:]
        if key is None:
            return self._collection(request, table, rest)
        return self._entity(request, table, key, rest)

    # -- collections ---------------------------------------------------------------------------

    def _collection(self, request: ApiRequest, table: TableMeta, rest: list[str]) -> ApiResponse:
        method = request.method
        if not rest:
            if method == "GET":
                return self._query(request, table)
            if method == "POST":
                return self._create(request, table)
            raise self._method_not_allowed(method, table.entity_set)
        if rest == ["$count"] and method == "GET":
            records = self._filtered(request, table)
            count = min(len(records), MAX_PAGE_SIZE)
            return ApiResponse(
                200, {"Content-Type": "text/plain", "OData-Version": "4.0"}, str(count).encode()
            )
        if len(rest) == 1 and method == "POST":
            message = rest[0].removeprefix("Microsoft.Dynamics.CRM.")
            if message in BULK_MESSAGES:
                return self._bulk(request, table, message)
        raise errors.segment_not_found(rest[0])

    @staticmethod
    def _method_not_allowed(method: str, segment: str) -> ApiError:
        return ApiError(
            405,
            errors.ODATA_ERROR,
            f"The HTTP method '{method}' is not allowed on the resource '{segment}'.",
        )

    def _create(self, request: ApiRequest, table: TableMeta) -> ApiResponse:
        payload = parse_json_body(request.body)
        record_id = self.engine.create(table, payload, caller=request.caller)
        url = self.engine.entity_url(table, record_id)
        prefer = Preferences(request.header("prefer"))
        if prefer.return_representation:
            return self._representation(
                request, table, record_id, 201, {"OData-EntityId": url, "Location": url}
            )
        return ApiResponse(204, {"OData-Version": "4.0", "OData-EntityId": url}, records=1)

    def _representation(
        self,
        request: ApiRequest,
        table: TableMeta,
        record_id: str,
        status: int,
        headers: dict[str, str],
    ) -> ApiResponse:
        record = self.store.get(table.logical_name, record_id) or {}
        select = self._select(request)
        prefer = Preferences(request.header("prefer"))
        body = self.engine.present(table, record, select, prefer.annotation_filter())
        self._expand_into(request, table, record, body)
        context = f"{self.api_url}/$metadata#{table.entity_set}/$entity"
        payload = {"@odata.context": context, **body}
        response = json_response(
            status,
            payload,
            {**headers, "Preference-Applied": "return=representation", "ETag": body["@odata.etag"]},
        )
        response.records = 1
        return response

    def _bulk(self, request: ApiRequest, table: TableMeta, message: str) -> ApiResponse:
        if message not in table.messages:
            raise ApiError(
                400,
                "0x80040800",
                f"The '{message}' method does not support entities of type '{table.logical_name}'. "
                "MessageProcessorCache returned MessageProcessor.Empty. ",
            )
        payload = parse_json_body(request.body)
        targets = payload.get("Targets") if isinstance(payload, dict) else None
        if not isinstance(targets, list) or not targets:
            raise ApiError(
                400,
                errors.INVALID_ARGUMENT,
                f"Required parameter 'Targets' is missing for {message}.",
            )
        for target in targets:
            self._check_target_type(table, target)
        if message == "CreateMultiple":
            ids = self.engine.create_many(table, targets, request.caller)
            context = f"{self.api_url}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
            response = json_response(200, {"@odata.context": context, "Ids": ids})
        elif message == "UpdateMultiple":
            self.engine.update_many(table, targets, request.caller)
            response = no_content()
        else:
            self.engine.upsert_many(table, targets, request.caller)
            response = no_content()
        response.records = len(targets)
        return response

    @staticmethod
    def _check_target_type(table: TableMeta, target: Any) -> None:
        if not isinstance(target, dict):
            raise ApiError(
                400, errors.ODATA_ERROR, "Each item of 'Targets' must be an entity object."
            )
        odata_type = target.get("@odata.type")
        if odata_type is None:
            raise ApiError(
                400,
                errors.ODATA_ERROR,
                "The '@odata.type' property must be set on each item of 'Targets' "
                f"(expected '{table.type_name}').",
            )
        if str(odata_type).lstrip("#") != table.type_name:
            raise ApiError(
                400,
                errors.ODATA_ERROR,
                f"The entity type '{odata_type}' of a Targets item does not match the entity set "
                f"'{table.entity_set}' of type '{table.type_name}'.",
            )

    # -- queries -------------------------------------------------------------------------------

    def _select(self, request: ApiRequest) -> list[str] | None:
        raw = request.option("$select")
        return odata_query.parse_select(raw) if raw else None

    def _aliases(self, request: ApiRequest) -> dict[str, str]:
        return {key: value for key, value in request.query if key.startswith("@")}

    def _known_properties(self, table: TableMeta) -> set[str]:
        names: set[str] = set()
        for attribute in table.attributes.values():
            names.add(
                lookup_column(attribute.logical_name)
                if attribute.is_lookup
                else attribute.logical_name
            )
        return names

    def _filtered(self, request: ApiRequest, table: TableMeta) -> list[dict[str, Any]]:
        records = self.store.scan(table.logical_name)
        text = request.option("$filter")
        if text:
            predicate = odata_query.parse_filter(
                text,
                self._aliases(request),
                known_properties=self._known_properties(table),
                entity=table.logical_name,
            )
            records = [record for record in records if predicate(record)]
        return records

    def _check_options(self, request: ApiRequest) -> None:
        supported = {
            "$select",
            "$filter",
            "$orderby",
            "$top",
            "$count",
            "$expand",
            "$skiptoken",
            "$apply",
        }
        for key, _ in request.query:
            if key.startswith("$") and key not in supported:
                raise ApiError(
                    400,
                    errors.ODATA_ERROR,
                    f"The query parameter {key} is not supported",
                )

    def _query(self, request: ApiRequest, table: TableMeta) -> ApiResponse:
        self._check_options(request)
        prefer = Preferences(request.header("prefer"))
        select = self._select(request)
        annotations = prefer.annotation_filter()
        self.engine.select_columns(table, select)  # unknown $select names fail before the scan
        records = self._filtered(request, table)
        orderby_text = request.option("$orderby")
        orderby = odata_query.parse_orderby(orderby_text) if orderby_text else []
        known = self._known_properties(table)
        for name, _ in orderby:
            if name not in known:
                raise errors.select_property_not_found(name, table.type_name)
        records = odata_query.sort_records(records, [*orderby, (table.primary_id, False)])
        total = len(records)
        page_size = prefer.max_page_size()
        top = self._top(request)
        if top is not None and page_size is None:
            records = records[:top]
        page_number, start = 1, 0
        skiptoken = request.option("$skiptoken")
        if skiptoken:
            previous_page, last_id = odata_query.read_skiptoken(skiptoken)
            page_number = previous_page
            ids = [record[table.primary_id] for record in records]
            start = ids.index(last_id) + 1 if last_id in ids else len(ids)
        size = page_size or MAX_PAGE_SIZE
        page = records[start : start + size]
        body: dict[str, Any] = {"@odata.context": self._collection_context(table, select)}
        if request.option("$count") == "true":
            body["@odata.count"] = min(total, MAX_PAGE_SIZE)
        if annotations is not None and annotations("Microsoft.Dynamics.CRM.totalrecordcount"):
            body["@Microsoft.Dynamics.CRM.totalrecordcount"] = (
                min(total, MAX_PAGE_SIZE) if request.option("$count") == "true" else -1
            )
            body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = total > MAX_PAGE_SIZE
        values = []
        for record in page:
            item = self.engine.present(table, record, select, annotations)
            self._expand_into(request, table, record, item)
            values.append(item)
        body["value"] = values
        headers: dict[str, str] = {}
        applied = []
        if page_size is not None:
            applied.append(f"odata.maxpagesize={page_size}")
        if annotations is not None:
            applied.append(
                f'odata.include-annotations="{prefer.values["odata.include-annotations"]}"'
            )
        if applied:
            headers["Preference-Applied"] = ",".join(applied)
        if start + size < len(records) and page:
            token = odata_query.make_skiptoken(page_number + 1, page[-1][table.primary_id])
            body["@odata.nextLink"] = self._next_link(request, token)
        response = json_response(200, body, headers)
        response.records = len(values)
        return response

    def _top(self, request: ApiRequest) -> int | None:
        raw = request.option("$top")
        if raw is None:
            return None
        if not raw.isdigit():
            raise ApiError(
                400, errors.ODATA_ERROR, f"Invalid value '{raw}' for $top query option found."
            )
        return int(raw)

    def _collection_context(self, table: TableMeta, select: list[str] | None) -> str:
        suffix = f"({','.join(select)})" if select else ""
        return f"{self.api_url}/$metadata#{table.entity_set}{suffix}"

    def _next_link(self, request: ApiRequest, token: str) -> str:
        query = [(k, v) for k, v in request.query if k != "$skiptoken"]
        query.append(("$skiptoken", token))
        encoded = urlencode(query, quote_via=quote, safe="$,()'@")
        return f"{self.api_url}/{request.path}?{encoded}"

    def _expand_into(
        self, request: ApiRequest, table: TableMeta, record: dict[str, Any], out: dict[str, Any]
    ) -> None:
        raw = request.option("$expand")
        if not raw:
            return
        for item in odata_query.parse_expand(raw):
            out[item.navigation] = self._expanded(table, record, item.navigation, item.select)

    def _expanded(
        self, table: TableMeta, record: dict[str, Any], name: str, select: list[str] | None
    ) -> Any:
        navigation = table.navigations.get(name)
        if navigation is not None:
            column = lookup_column(navigation.attribute)
            target_name = record.get(column + LOOKUP_TYPE)
            target_id = record.get(column)
            if not target_id or target_name not in navigation.targets:
                return None
            target = self.catalog.require(target_name)
            related = self.store.get(target_name, target_id)
            return self.engine.present(target, related, select) if related else None
        if name == table.party_navigation:
            party_table = self.catalog.require("activityparty")
            rows = self.store.find_by_column(
                "activityparty", lookup_column("activityid"), record[table.primary_id]
            )
            return [self.engine.present(party_table, row, select) for row in rows]
        collection = table.collections.get(name)
        if collection is not None:
            child = self.catalog.get(collection.entity)
            if child is None:
                return []
            rows = self.store.find_by_column(
                child.logical_name, lookup_column(collection.attribute), record[table.primary_id]
            )
            return [self.engine.present(child, row, select) for row in rows]
        raise ApiError(
            400,
            errors.ODATA_ERROR,
            f"Could not find a property named '{name}' on type '{table.type_name}'.",
        )

    # -- single entities -----------------------------------------------------------------------

    def _entity(
        self, request: ApiRequest, table: TableMeta, key: str, rest: list[str]
    ) -> ApiResponse:
        method = request.method
        if not rest:
            if method == "GET":
                return self._retrieve(request, table, key)
            if method == "PATCH":
                return self._upsert(request, table, key)
            if method == "DELETE":
                record_id = self._existing_id(table, key)
                self.engine.delete(table, record_id, if_match=request.header("if-match"))
                return no_content()
            raise self._method_not_allowed(method, table.entity_set)
        record_id = self._existing_id(table, key)
        if rest[-1] == "$ref":
            return self._reference(request, table, record_id, rest[:-1])
        if len(rest) == 1:
            return self._property(request, table, record_id, rest[0])
        raise errors.segment_not_found(rest[1])

    def _existing_id(self, table: TableMeta, key: str) -> str:
        record_id, _ = self.engine.resolve_key(table, key)
        if record_id is None:
            stripped = key.strip()
            if re.fullmatch(r"[0-9a-fA-F-]{36}", stripped):
                raise errors.record_not_found(table.logical_name, stripped.lower())
            raise errors.key_record_not_found(table.logical_name)
        return record_id

    def _retrieve(self, request: ApiRequest, table: TableMeta, key: str) -> ApiResponse:
        record_id = self._existing_id(table, key)
        record = self.store.get(table.logical_name, record_id) or {}
        etag = f'W/"{record.get("versionnumber", 0)}"'
        if_none_match = request.header("if-none-match")
        if if_none_match and if_none_match.strip() == etag and not request.option("$expand"):
            return ApiResponse(304, {"OData-Version": "4.0", "ETag": etag})
        prefer = Preferences(request.header("prefer"))
        select = self._select(request)
        body = self.engine.present(table, record, select, prefer.annotation_filter())
        self._expand_into(request, table, record, body)
        context = f"{self._collection_context(table, select)}/$entity"
        headers = {"ETag": etag}
        if prefer.annotation_filter() is not None:
            headers["Preference-Applied"] = (
                f'odata.include-annotations="{prefer.values["odata.include-annotations"]}"'
            )
        response = json_response(200, {"@odata.context": context, **body}, headers)
        response.records = 1
        return response

    def _upsert(self, request: ApiRequest, table: TableMeta, key: str) -> ApiResponse:
        payload = parse_json_body(request.body)
        created, record_id = self.engine.upsert(
            table,
            key,
            payload,
            caller=request.caller,
            if_match=request.header("if-match"),
            if_none_match=self._if_none_match(request),
        )
        url = f"{self.api_url}/{table.entity_set}({key})"
        prefer = Preferences(request.header("prefer"))
        if prefer.return_representation:
            return self._representation(
                request, table, record_id, 201 if created else 200, {"OData-EntityId": url}
            )
        return ApiResponse(204, {"OData-Version": "4.0", "OData-EntityId": url}, records=1)

    @staticmethod
    def _if_none_match(request: ApiRequest) -> str | None:
        value = request.header("if-none-match")
        # Clients send `If-None-Match: null` on every request; only `*` restricts an upsert.
        return value if value is not None and value.strip() == "*" else None

    def _property(
        self, request: ApiRequest, table: TableMeta, record_id: str, name: str
    ) -> ApiResponse:
        method = request.method
        if name == table.party_navigation and method == "PUT":
            payload = parse_json_body(request.body)
            parties = payload.get("value") if isinstance(payload, dict) else None
            if not isinstance(parties, list):
                raise ApiError(400, errors.ODATA_ERROR, 'The body must be {"value": [parties]}.')
            with self.store.atomic():
                self.engine.replace_parties(table, record_id, parties)
            return no_content()
        if name in table.navigations or name in table.collections or name == table.party_navigation:
            if method != "GET":
                raise self._method_not_allowed(method, name)
            record = self.store.get(table.logical_name, record_id) or {}
            select = self._select(request)
            value = self._expanded(table, record, name, select)
            if isinstance(value, list):
                return json_response(
                    200, {"@odata.context": f"{self.api_url}/$metadata", "value": value}
                )
            if value is None:
                return ApiResponse(204, {"OData-Version": "4.0"})
            return json_response(200, {"@odata.context": f"{self.api_url}/$metadata", **value})
        attribute = table.attributes.get(name)
        if attribute is None or attribute.is_lookup:
            raise errors.segment_not_found(name)
        if method == "GET":
            record = self.store.get(table.logical_name, record_id) or {}
            context = f"{self.api_url}/$metadata#{table.entity_set}({record_id})/{name}"
            return json_response(200, {"@odata.context": context, "value": record.get(name)})
        if method == "PUT":
            payload = parse_json_body(request.body)
            if not isinstance(payload, dict) or "value" not in payload:
                raise ApiError(400, errors.ODATA_ERROR, 'The body must be {"value": <value>}.')
            self.engine.update(table, record_id, {name: payload["value"]}, caller=request.caller)
            return no_content()
        if method == "DELETE":
            self.engine.update(table, record_id, {name: None}, caller=request.caller)
            return no_content()
        raise self._method_not_allowed(method, name)

    def _reference(
        self, request: ApiRequest, table: TableMeta, record_id: str, path: list[str]
    ) -> ApiResponse:
        if len(path) != 1:
            raise errors.segment_not_found("$ref")
        match = _SEGMENT_RE.match(path[0])
        name = match.group("name") if match else path[0]
        child_key = match.group("key") if match else None
        method = request.method
        if name in table.navigations:
            if method == "PUT":
                target = self._reference_body(request)
                self.engine.update(
                    table, record_id, {f"{name}@odata.bind": target}, caller=request.caller
                )
                return no_content()
            if method == "DELETE":
                self.engine.update(table, record_id, {name: None}, caller=request.caller)
                return no_content()
        collection = table.collections.get(name)
        if collection is not None:
            child_table = self.catalog.require(collection.entity)
            back = self.engine._navigation_back(
                child_table, collection.attribute, table.logical_name
            )
            if method == "POST":
                reference = self.engine.resolve_reference(self._reference_body(request))
                self.engine.update(
                    child_table,
                    reference.record_id,
                    {f"{back}@odata.bind": f"/{table.entity_set}({record_id})"},
                    caller=request.caller,
                )
                return no_content()
            if method == "DELETE":
                target = request.option("$id")
                if child_key is not None:
                    child_id = self._existing_id(child_table, child_key)
                elif target:
                    child_id = self.engine.resolve_reference(target).record_id
                else:
                    raise ApiError(400, errors.ODATA_ERROR, "The $id query option is required.")
                self.engine.update(child_table, child_id, {back: None}, caller=request.caller)
                return no_content()
        raise errors.segment_not_found(name)

    @staticmethod
    def _reference_body(request: ApiRequest) -> str:
        payload = parse_json_body(request.body)
        target = payload.get("@odata.id") if isinstance(payload, dict) else None
        if not isinstance(target, str):
            raise ApiError(400, errors.ODATA_ERROR, 'The body must be {"@odata.id": <entity URI>}.')
        return target

    # -- functions and special sets -------------------------------------------------------------

    def _service_document(self) -> ApiResponse:
        sets = [
            {"name": table.entity_set, "kind": "EntitySet", "url": table.entity_set}
            for table in sorted(self.catalog.tables.values(), key=lambda t: t.entity_set)
        ]
        return json_response(200, {"@odata.context": f"{self.api_url}/$metadata", "value": sets})

    def _who_am_i(self, request: ApiRequest) -> ApiResponse:
        context = f"{self.api_url}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"
        return json_response(
            200,
            {
                "@odata.context": context,
                "BusinessUnitId": request.caller.businessunitid,
                "UserId": request.caller.systemuserid,
                "OrganizationId": self.organization_id,
            },
        )

    def _sdk_message_filters(self, request: ApiRequest) -> ApiResponse:
        rows = []
        for table in self.catalog.tables.values():
            for message in sorted(table.messages):
                rows.append(
                    {
                        "sdkmessagefilterid": _stable_id(
                            "sdkmessagefilter", table.logical_name, message
                        ),
                        "sdkmessageid/name": message,
                        "primaryobjecttypecode": table.logical_name,
                    }
                )
        text = request.option("$filter")
        if text:
            predicate = odata_query.parse_filter(
                text,
                self._aliases(request),
                known_properties={
                    "sdkmessagefilterid",
                    "sdkmessageid/name",
                    "primaryobjecttypecode",
                },
                entity="sdkmessagefilter",
            )
            rows = [row for row in rows if predicate(row)]
        select = self._select(request) or ["sdkmessagefilterid", "primaryobjecttypecode"]
        values = [
            {"@odata.etag": 'W/"1"', **{name: row.get(name) for name in select if "/" not in name}}
            for row in rows
        ]
        context = f"{self.api_url}/$metadata#sdkmessagefilters({','.join(select)})"
        return json_response(200, {"@odata.context": context, "value": values})

    def _organizations(self, request: ApiRequest) -> ApiResponse:
        row = {
            "organizationid": self.organization_id,
            "name": self.store.get_setting("organization_name") or "Local Dataverse",
            "maxuploadfilesize": self.engine.max_upload_size(),
        }
        select = self._select(request)
        if select:
            row = {"organizationid": row["organizationid"], **{k: row.get(k) for k in select}}
        context = f"{self.api_url}/$metadata#organizations"
        return json_response(
            200, {"@odata.context": context, "value": [{"@odata.etag": 'W/"1"', **row}]}
        )

    def _update_organization(self, request: ApiRequest) -> ApiResponse:
        payload = parse_json_body(request.body)
        if not isinstance(payload, dict):
            raise ApiError(400, errors.ODATA_ERROR, "The request body must be a JSON object.")
        size = payload.get("maxuploadfilesize")
        if size is not None:
            if not isinstance(size, int) or not 0 < size <= 131_072_000:
                raise ApiError(
                    400,
                    errors.ODATA_ERROR,
                    "maxuploadfilesize must be an integer between 1 and 131072000.",
                )
            self.store.set_setting("maxuploadfilesize", str(size))
        return no_content()

    # -- $batch --------------------------------------------------------------------------------

    def _batch(self, request: ApiRequest) -> ApiResponse:
        content_type = request.header("content-type") or ""
        items = batch_codec.parse_batch(request.body, content_type)
        continue_on_error = Preferences(request.header("prefer")).continue_on_error
        references: dict[str, str] = {}
        outputs: list[batch_codec.BatchResponse | list[batch_codec.BatchResponse]] = []
        failed = False
        records = 0
        for item in items:
            if isinstance(item, batch_codec.ChangeSet):
                result = self._run_changeset(request, item, references)
                outputs.append(result if isinstance(result, list) else result)
                ok = isinstance(result, list)
            else:
                response = self._run_part(request, item, references)
                outputs.append(response)
                ok = response.status < 400
            if not ok:
                failed = True
                if not continue_on_error:
                    break
            records += 1
        body, batch_type = batch_codec.format_batch_response(outputs)
        status = 400 if failed and not continue_on_error else 200
        return ApiResponse(
            status, {"Content-Type": batch_type, "OData-Version": "4.0"}, body, records
        )

    def _run_changeset(
        self, request: ApiRequest, changeset: batch_codec.ChangeSet, references: dict[str, str]
    ) -> list[batch_codec.BatchResponse] | batch_codec.BatchResponse:
        responses: list[batch_codec.BatchResponse] = []
        local_refs = dict(references)
        try:
            with self.store.atomic():
                for part in changeset.requests:
                    response = self._run_part(request, part, local_refs)
                    if response.status >= 400:
                        raise _ChangeSetFailed(response)
                    responses.append(response)
        except _ChangeSetFailed as failure:
            return failure.response
        references.update(local_refs)
        return responses

    def _run_part(
        self, outer: ApiRequest, part: batch_codec.BatchRequest, references: dict[str, str]
    ) -> batch_codec.BatchResponse:
        try:
            path, query = self._part_target(part.url, references)
            body = self._substitute_references(part.body, references)
        except ApiError as error:
            response = error_response(error)
        else:
            inner = ApiRequest(
                method=part.method.upper(),
                path=path,
                query=query,
                headers={k.lower(): v for k, v in part.headers.items()},
                body=body,
                caller=outer.caller,
            )
            response = self.handle(inner)
        if part.content_id is not None and response.status < 400:
            entity_id = response.headers.get("OData-EntityId")
            if entity_id:
                references[part.content_id] = entity_id
        headers = dict(response.headers)
        if response.status == 204 and "OData-EntityId" in headers:
            headers.setdefault("Location", headers["OData-EntityId"])
        return batch_codec.BatchResponse(
            response.status,
            batch_codec.reason_phrase(response.status),
            headers,
            response.body,
            part.content_id,
        )

    def _part_target(
        self, url: str, references: dict[str, str]
    ) -> tuple[str, list[tuple[str, str]]]:
        match = _CONTENT_ID_RE.match(url.split("?", 1)[0])
        if match is not None:
            content_id = match.group("id")
            if content_id not in references:
                raise ApiError(
                    400,
                    errors.ODATA_ERROR,
                    f"Content-ID Reference: '${content_id}' does not exist in the batch context.",
                )
            url = (
                references[content_id]
                + (match.group("rest") or "")
                + ("?" + url.split("?", 1)[1] if "?" in url else "")
            )
        path_part, _, query_text = url.partition("?")
        if API_PATH in path_part:
            path_part = path_part.split(API_PATH, 1)[1]
        else:
            path_part = path_part.lstrip("/")
        from urllib.parse import unquote

        return unquote(path_part), parse_qsl(query_text, keep_blank_values=True)

    @staticmethod
    def _substitute_references(body: bytes, references: dict[str, str]) -> bytes:
        if b"$" not in body or not body.strip():
            return body
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return body

        def resolve(value: str) -> str:
            match = _CONTENT_ID_RE.match(value)
            if match is None:
                return value
            content_id = match.group("id")
            if content_id not in references:
                raise ApiError(
                    400,
                    errors.ODATA_ERROR,
                    f"Content-ID Reference: '${content_id}' does not exist in the batch context.",
                )
            return references[content_id] + (match.group("rest") or "")

        def replace(value: Any) -> Any:
            if isinstance(value, list):
                return [replace(item) for item in value]
            if not isinstance(value, dict):
                return value
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key.endswith(("@odata.bind", "@odata.id")) and isinstance(item, str):
                    out[key] = resolve(item)
                elif key.endswith("@odata.bind") and isinstance(item, list):
                    out[key] = [resolve(v) if isinstance(v, str) else v for v in item]
                else:
                    out[key] = replace(item)
            return out

        return json.dumps(replace(payload)).encode()


class _ChangeSetFailed(Exception):
    def __init__(self, response: batch_codec.BatchResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _stable_id(*parts: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))

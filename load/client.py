"""A small Dataverse Web API client over httpx: retries, throttling, bulk messages, `$batch`."""

from __future__ import annotations

import http.cookiejar
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from load.batch import BatchRequest, BatchResponse, decode_batch, encode_batch
from load.config import DataverseSettings

__all__ = [
    "DataverseError",
    "ThrottledError",
    "TransientError",
    "RecordError",
    "RetryPolicy",
    "DataverseClient",
    "odata_string",
]


class DataverseError(Exception):
    """Dataverse answered with an error (or could not be reached)."""

    def __init__(self, status: int | None, code: str, message: str) -> None:
        super().__init__(f"{status or 'no response'} {code or '-'}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ThrottledError(DataverseError):
    """429: a service protection limit was hit; wait `retry_after` seconds."""

    def __init__(self, status: int | None, code: str, message: str, retry_after: float) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class TransientError(DataverseError):
    """5xx, timeouts and dropped connections: worth retrying later."""


class RecordError(DataverseError):
    """4xx caused by what was sent (bad value, missing lookup target, duplicate…)."""


RECORD_STATUSES = frozenset({400, 404, 409, 412, 413, 422})
TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})
RECOMMENDED_HEADERS = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "If-None-Match": "null",
}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # for transient errors (5xx, timeouts, dropped connections)
    backoff: float = 0.5  # first wait after a transient error, doubled each time
    max_backoff: float = 30.0
    max_retry_after: float = 300.0
    max_throttle_wait: float = 3600.0  # 429s are waited out (not counted) up to this in total


class Observer:
    """Told about every 429 and transient failure (the loader's pacer adapts to them)."""

    def throttled(self, code: str, retry_after: float) -> None:  # pragma: no cover - default
        pass

    def transient(self) -> None:  # pragma: no cover - default
        pass


BYPASS_HEADER = "MSCRM.BypassBusinessLogicExecution"


def odata_string(value: str) -> str:
    """An OData string literal: quoted, with single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def error_from_response(response: httpx.Response) -> DataverseError:
    code, message = _error_body(response)
    status = response.status_code
    if status == 429:
        return ThrottledError(status, code, message, _retry_after(response))
    if status in TRANSIENT_STATUSES:
        return TransientError(status, code, message)
    if status in RECORD_STATUSES:
        return RecordError(status, code, message)
    return DataverseError(status, code, message)


def error_from_part(part: BatchResponse) -> DataverseError:
    error = part.body.get("error", {}) if isinstance(part.body, dict) else {}
    code, message = str(error.get("code", "")), str(error.get("message", part.body or ""))
    if part.status == 429:
        return ThrottledError(part.status, code, message, _seconds(part.headers.get("retry-after")))
    if part.status in TRANSIENT_STATUSES:
        return TransientError(part.status, code, message)
    if part.status in RECORD_STATUSES:
        return RecordError(part.status, code, message)
    return DataverseError(part.status, code, message)


def _error_body(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
        return str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        return "", response.text[:500] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float:
    return _seconds(response.headers.get("Retry-After"))


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0


def _ssl_context(settings: DataverseSettings) -> ssl.SSLContext:
    """The system's CAs, plus DATAVERSE_CA_BUNDLE when set (e.g. the local Dataverse's CA)."""
    context = ssl.create_default_context()
    if settings.ca_bundle is not None:
        context.load_verify_locations(cafile=str(settings.ca_bundle))
    return context


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    # No affinity cookie: requests spread over Dataverse's web servers, each with its own limits.
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class DataverseClient:
    """One environment's Web API. Thread-safe as httpx.Client is; close() when done."""

    def __init__(
        self,
        settings: DataverseSettings,
        *,
        auth: httpx.Auth | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        bypass_business_logic: bool = False,
    ) -> None:
        if auth is None:
            from load.auth import DataverseAuth

            auth = DataverseAuth.from_settings(settings)
        self.api_url = settings.api_url
        self._api_path = urlsplit(settings.api_url).path
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._supports: dict[tuple[str, str], bool] = {}
        self.dop_hint: int | None = None
        self.observer: Observer = Observer()
        self._attempt = threading.local()  # per sender thread: the last answered attempt's time
        headers = dict(RECOMMENDED_HEADERS)
        if bypass_business_logic:
            # Skips custom plug-ins and workflows (needs prvBypassCustomBusinessLogic).
            headers[BYPASS_HEADER] = "CustomSync,CustomAsync"
        self._http = httpx.Client(
            base_url=settings.api_url,
            auth=auth,
            headers=headers,
            verify=_ssl_context(settings),
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def last_attempt_seconds(self) -> float:
        """How long the calling thread's last successful request took, its own attempt only:
        not the Retry-After waits and retries before it (the pacer judges the server's speed
        by this, and a 280 s wait for the window is not a slow answer)."""
        return float(getattr(self._attempt, "seconds", 0.0))

    # -- the one place requests are sent ---------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        accept: Sequence[int] = (),
    ) -> httpx.Response:
        """Send; retry throttling and transient failures; raise the rest (bar `accept`ed ones).

        A 429 is waited out for its Retry-After and does not count as an attempt (the server
        sets the pace); transient failures are retried `attempts` times with backoff."""
        attempt = 0
        throttled_for = 0.0
        while True:
            started = time.monotonic()
            try:
                response = self._http.request(
                    method, url, json=json, content=content, headers=headers, params=params
                )
            except httpx.TransportError as exc:
                error: DataverseError = TransientError(None, type(exc).__name__, str(exc))
            else:
                if response.is_success or response.status_code in accept:
                    self._attempt.seconds = time.monotonic() - started
                    return response
                error = error_from_response(response)
            if isinstance(error, ThrottledError):
                wait = min(error.retry_after, self._retry.max_retry_after)
                throttled_for += wait
                if throttled_for > self._retry.max_throttle_wait:
                    raise error
                self.observer.throttled(error.code, wait)
                self._sleep(wait)
                continue
            attempt += 1
            if attempt >= self._retry.attempts or not isinstance(error, TransientError):
                raise error
            self.observer.transient()
            self._sleep(self._wait(error, attempt))

    def _wait(self, error: DataverseError, attempt: int) -> float:
        if isinstance(error, ThrottledError):
            return min(error.retry_after, self._retry.max_retry_after)
        backoff = min(self._retry.backoff * 2 ** (attempt - 1), self._retry.max_backoff)
        return backoff * (0.75 + random.random() / 2)  # noqa: S311 - jitter, not crypto

    # -- messages --------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        response = self.request("GET", "WhoAmI")
        hint = response.headers.get("x-ms-dop-hint")
        self.dop_hint = int(hint) if hint and hint.isdigit() else self.dop_hint
        return response.json()

    def supports_message(self, table: str, message: str) -> bool:
        """Whether `message` (e.g. "UpsertMultiple") is available on `table` (research §3)."""
        key = (table, message)
        if key not in self._supports:
            response = self.request(
                "GET",
                "sdkmessagefilters",
                params={
                    "$select": "sdkmessagefilterid",
                    "$filter": "sdkmessageid/name eq @message and primaryobjecttypecode eq @table",
                    "@message": odata_string(message),
                    "@table": odata_string(table),
                },
            )
            self._supports[key] = bool(response.json().get("value"))
        return self._supports[key]

    def upsert(self, entity_set: str, record_id: str, body: Mapping[str, Any]) -> None:
        self.request("PATCH", f"{entity_set}({record_id})", json=body)

    def update(self, entity_set: str, record_id: str, body: Mapping[str, Any]) -> None:
        """PATCH that never creates: If-Match: * makes a missing record a 404."""
        self.request("PATCH", f"{entity_set}({record_id})", json=body, headers={"If-Match": "*"})

    def delete(self, entity_set: str, record_id: str) -> bool:
        """Delete one record; False if it was not there (already gone is not an error)."""
        response = self.request("DELETE", f"{entity_set}({record_id})", accept=(404,))
        return response.status_code != 404

    def upsert_multiple(
        self, entity_set: str, table: str, targets: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> None:
        """UpsertMultiple by primary key; on a standard table one bad target fails them all."""
        body = {
            "Targets": [
                {
                    "@odata.type": f"Microsoft.Dynamics.CRM.{table}",
                    "@odata.id": f"{entity_set}({record_id})",
                    **fields,
                }
                for record_id, fields in targets
            ]
        }
        self.request("POST", f"{entity_set}/Microsoft.Dynamics.CRM.UpsertMultiple", json=body)

    def update_multiple(
        self,
        entity_set: str,
        table: str,
        primary_key: str,
        targets: Sequence[tuple[str, Mapping[str, Any]]],
    ) -> None:
        body = {
            "Targets": [
                {"@odata.type": f"Microsoft.Dynamics.CRM.{table}", primary_key: record_id, **fields}
                for record_id, fields in targets
            ]
        }
        self.request("POST", f"{entity_set}/Microsoft.Dynamics.CRM.UpdateMultiple", json=body)

    def batch(
        self,
        operations: Sequence[BatchRequest],
        *,
        changeset: bool = False,
        continue_on_error: bool = True,
    ) -> list[BatchResponse]:
        """One `$batch` request. Without a change set and with continue-on-error every operation
        gets its own response; otherwise Dataverse stops at the first failure."""
        content_type, body = encode_batch(operations, api_path=self._api_path, changeset=changeset)
        headers = {"Content-Type": content_type}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        response = self.request("POST", "$batch", content=body, headers=headers, accept=(400,))
        response_type = response.headers.get("Content-Type", "")
        if not response_type.lower().startswith("multipart/"):
            # A stopped batch answers 400 with a multipart body; anything else is about the batch.
            raise error_from_response(response)
        return decode_batch(response_type, response.content)

    # -- reading ---------------------------------------------------------------------------

    def get_pages(
        self,
        entity_set: str,
        select: Sequence[str],
        *,
        filter: str | None = None,
        page_size: int = 5000,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of rows, following `@odata.nextLink` as given."""
        params: dict[str, str] | None = {"$select": ",".join(select)}
        if filter:
            assert params is not None
            params["$filter"] = filter
        url = entity_set
        headers = {"Prefer": f"odata.maxpagesize={page_size}"}
        while url:
            page = self.request("GET", url, params=params, headers=headers).json()
            yield page.get("value", [])
            url, params = page.get("@odata.nextLink"), None

    def entity_attributes(self, logical_name: str) -> set[str]:
        response = self.request(
            "GET",
            f"EntityDefinitions(LogicalName={odata_string(logical_name)})/Attributes",
            params={"$select": "LogicalName"},
        )
        return {row["LogicalName"] for row in response.json().get("value", [])}

    def create_attribute(
        self, logical_name: str, definition: Mapping[str, Any], *, solution: str | None = None
    ) -> None:
        headers = {"MSCRM.SolutionUniqueName": solution} if solution else None
        self.request(
            "POST",
            f"EntityDefinitions(LogicalName={odata_string(logical_name)})/Attributes",
            json=definition,
            headers=headers,
        )

"""The CorePlus API stand-in: the documented behaviour of ``/API/Core/v2/<Resource>/``.

- ``Authorization: JwToken <jwt>`` on every request: HS256 signed with the consumer secret,
  claims ``iss``, ``aud``, ``nbf``, ``exp`` (at most ``max_token_lifetime`` apart), ``consumerId``,
  ``accessToken``, ``url`` (the request path) and ``httpMethod``. A missing ``content-type:
  application/json``, a missing space after ``JwToken``, a wrong signature, a stale or
  not-yet-valid token, or a token minted for another path or method → 401 ``Invalid token``.
- At most ``rate_limit`` requests per ``rate_window`` seconds per consumer, then 429
  ``Too Many Requests`` with ``Retry-After``.
- ``GET`` lists: ``pageNumber`` (from 1), ``pageSize`` (default 50, at most 100),
  ``updatedSince`` (``yyyy-mm-dd HH:MM:SS+1000``; rows with ``dateModified`` at or after it),
  answered as ``{"<plural>": [...], "paging": {"totalRows", "pageNumber", "pageSize"},
  "statusMessages": []}``, ordered by ``dateModified`` then id (stable under paging).
- Resource names are matched case-insensitively
  (``/API/Core/v2/Client/`` = ``/api/core/v2/client``).

Faults can be injected per resource and page (5xx, 429, truncated or garbage bodies) for tests.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.coreplus.generator import RESOURCES, Dataset, DeltaSummary, apply_delta, parse_stamp

# Public development values, like Azurite's well-known key: they open nothing but this stand-in.
DEFAULT_CONSUMER_ID = "local-coreplus-consumer"
DEFAULT_CONSUMER_SECRET = "local-coreplus-dev-secret-0123456789"
DEFAULT_ACCESS_TOKEN = "local-coreplus-access-token"
AUDIENCE = "https://coreplus.com.au"

PATH_PATTERN = re.compile(r"^/api/core/v2(?:\.1)?/(?P<resource>[a-z]+)/?$", re.IGNORECASE)
UPDATED_SINCE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?$"
)
BY_PATH = {resource.path.lower(): resource for resource in RESOURCES.values()}


@dataclass
class Fault:
    """Answer the ``page`` of ``resource`` (its envelope key, e.g. ``clients``) with ``kind``
    ``times`` times (-1: always). Kinds: ``500``, ``503``, ``429``, ``truncated`` (the body cut
    in half), ``garbage`` (not JSON at all)."""

    resource: str
    page: int
    kind: str
    times: int = 1


@dataclass
class ApiConfig:
    consumer_id: str = DEFAULT_CONSUMER_ID
    consumer_secret: str = DEFAULT_CONSUMER_SECRET
    access_token: str = DEFAULT_ACCESS_TOKEN
    rate_limit: int = 10
    rate_window: float = 1.0
    default_page_size: int = 50
    max_page_size: int = 100
    max_token_lifetime: int = 120  # seconds between nbf and exp (the docs: "about a minute")
    leeway: int = 5  # clock skew tolerated on nbf/exp
    faults: list[Fault] = field(default_factory=list)


@dataclass
class RequestRecord:
    resource: str
    page: int | None
    updated_since: str | None
    status: int | str


class _Index:
    """One resource's rows ordered by (dateModified in UTC, id)."""

    def __init__(self, rows: list[dict[str, Any]], id_field: str) -> None:
        keyed = sorted(
            ((parse_stamp(r["dateModified"]).timestamp(), str(r[id_field]), r) for r in rows),
            key=lambda item: (item[0], item[1]),
        )
        self.stamps = [item[0] for item in keyed]
        self.rows = [item[2] for item in keyed]

    def since(self, moment: float | None) -> list[dict[str, Any]]:
        if moment is None:
            return self.rows
        return self.rows[bisect.bisect_left(self.stamps, moment) :]


class CorePlusApi:
    """The stand-in's state: the dataset, its indexes, the rate limiter and a request log."""

    def __init__(self, data: Dataset, config: ApiConfig | None = None) -> None:
        self.config = config or ApiConfig()
        self.data = data
        self.lock = threading.Lock()
        self.log: list[RequestRecord] = []
        self._recent: deque[float] = deque()
        self._reindex()

    def _reindex(self) -> None:
        self.indexes = {
            key: _Index(self.data[key], resource.id_field) for key, resource in RESOURCES.items()
        }

    def apply_delta(self, seed: int = 43) -> DeltaSummary:
        with self.lock:
            summary = apply_delta(self.data, seed)
            self._reindex()
            return summary

    def rows_for(self, key: str) -> int:
        return len(self.data[key])

    # ------------------------------------------------------------------ checks
    def _rate_limited(self, now: float) -> float | None:
        """Seconds until a slot frees up, or None when this request may proceed."""
        window = self.config.rate_window
        while self._recent and self._recent[0] <= now - window:
            self._recent.popleft()
        if len(self._recent) >= self.config.rate_limit:
            return max(0.0, self._recent[0] + window - now)
        self._recent.append(now)
        return None

    def _token_problem(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("JwToken "):
            return "Authorization header must be 'JwToken <token>'"
        if "application/json" not in request.headers.get("content-type", ""):
            return "content-type must be application/json"
        config = self.config
        try:
            claims = jwt.decode(
                header.removeprefix("JwToken ").strip(),
                config.consumer_secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                leeway=config.leeway,
                options={"require": ["nbf", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            return f"token rejected: {error}"
        if claims.get("consumerId") != config.consumer_id:
            return "unknown consumerId"
        if claims.get("accessToken") != config.access_token:
            return "unknown accessToken"
        if int(claims["exp"]) - int(claims["nbf"]) > config.max_token_lifetime:
            return "token lifetime too long: nbf and exp must be about a minute apart"
        if str(claims.get("httpMethod", "")).upper() != request.method.upper():
            return "token was minted for another httpMethod"
        claimed = str(claims.get("url", "")).split("?", 1)[0].rstrip("/").lower()
        if claimed != request.url.path.rstrip("/").lower():
            return "token was minted for another url"
        return None

    # ------------------------------------------------------------------ handler
    def handle(self, request: Request) -> Response:
        match = PATH_PATTERN.match(request.url.path)
        resource = BY_PATH.get(match["resource"].lower()) if match else None
        if resource is None:
            return _error(404, f"No resource at {request.url.path}")
        params = request.query_params
        with self.lock:
            wait = self._rate_limited(time.monotonic())
            page_text = params.get("pageNumber", "1")
            page = int(page_text) if page_text.isdigit() else None
            record = RequestRecord(resource.key, page, params.get("updatedSince"), 200)
            self.log.append(record)
            if wait is not None:
                record.status = 429
                return _error(
                    429,
                    "429 Client Error - Too Many Requests",
                    headers={"Retry-After": str(max(1, round(wait + 0.5)))},
                )
            problem = self._token_problem(request)
            if problem is not None:
                record.status = 401
                return _error(401, f"Invalid token ({problem})")
            if request.method != "GET":
                record.status = 405
                return _error(405, "This stand-in serves GET only")
            try:
                body = self._page(resource.key, params)
            except ValueError as error:
                record.status = 400
                return _error(400, str(error))
            fault = self._fault(resource.key, body["paging"]["pageNumber"])
        if fault is not None:
            record.status = fault.kind
            return _faulty(fault.kind, body)
        return JSONResponse(body)

    def _page(self, key: str, params: Any) -> dict[str, Any]:
        config = self.config
        page = _positive(params.get("pageNumber", "1"), "pageNumber")
        size = _positive(params.get("pageSize", str(config.default_page_size)), "pageSize")
        if size > config.max_page_size:
            raise ValueError(f"pageSize must be at most {config.max_page_size}")
        since = params.get("updatedSince")
        moment = _parse_updated_since(since) if since else None
        rows = self.indexes[key].since(moment)
        start = (page - 1) * size
        return {
            key: rows[start : start + size],
            "paging": {"totalRows": len(rows), "pageNumber": page, "pageSize": size},
            "statusMessages": [],
        }

    def _fault(self, key: str, page: int) -> Fault | None:
        for fault in self.config.faults:
            if fault.resource == key and fault.page == page and fault.times != 0:
                fault.times -= 1 if fault.times > 0 else 0
                return fault
        return None


def _positive(text: str, name: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a positive integer, not {text!r}")
    return int(text)


def _parse_updated_since(text: str) -> float:
    match = UPDATED_SINCE.match(text.strip())
    if match is None:
        raise ValueError(f"updatedSince {text!r} is not 'yyyy-mm-dd HH:MM:SS+1000'")
    offset = match["offset"] or "+10:00"  # CorePlus local time when no offset is given
    if offset != "Z" and ":" not in offset:
        offset = offset[:3] + ":" + offset[3:]
    moment = datetime.fromisoformat(
        f"{match['date']}T{match['time']}{offset.replace('Z', '+00:00')}"
    )
    return moment.astimezone(UTC).timestamp()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"statusMessages": [{"type": "Error", "message": message}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _faulty(kind: str, body: dict[str, Any]) -> Response:
    if kind in ("500", "503"):
        return _error(int(kind), "Service temporarily unavailable")
    if kind == "429":
        return _error(429, "429 Client Error - Too Many Requests", headers={"Retry-After": "1"})
    text = json.dumps(body)
    if kind == "truncated":
        return Response(text[: len(text) // 2], media_type="application/json")
    return Response("<html><body>Gateway error</body></html>", media_type="application/json")


def create_app(api: CorePlusApi) -> Starlette:
    async def endpoint(request: Request) -> Response:
        return api.handle(request)

    methods = ["GET", "POST", "PUT", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])

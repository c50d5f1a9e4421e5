"""The parts of the CorePlus API dlt's declarative ``rest_api`` config cannot express:

- ``JwTokenAuth``: a fresh HS256 token for every request (its ``url`` and ``httpMethod`` claims
  name that request, ``nbf``/``exp`` a minute apart);
- ``CorePlusPaginator``: ``pageNumber``/``pageSize`` driven by the ``paging`` envelope
  (``totalRows`` is rows, not pages);
- ``CorePlusSession``: paces requests under the rate limit, retries 429 (after ``Retry-After``),
  5xx, dropped connections and truncated pages, re-signing each attempt, and stops with a
  ``CorePlusPageError`` naming the endpoint and page when a page still cannot be parsed.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import AuthConfigBase
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import PreparedRequest, Request, Response

__all__ = [
    "CorePlusError",
    "CorePlusAuthError",
    "CorePlusPageError",
    "CorePlusUnavailable",
    "JwTokenAuth",
    "CorePlusPaginator",
    "CorePlusSession",
    "Pacer",
    "RequestStats",
]


class CorePlusError(Exception):
    """The CorePlus API did not give a usable answer."""


class CorePlusAuthError(CorePlusError):
    """401: the token was rejected (credentials, clock, or the consumer's access)."""


class CorePlusUnavailable(CorePlusError):
    """Retries ran out on 429/5xx/connection errors."""


class CorePlusPageError(CorePlusError):
    """A page that cannot be parsed, after retries: the extract stops, nothing of it loads."""

    def __init__(self, endpoint: str, page: int | None, reason: str) -> None:
        super().__init__(f"CorePlus endpoint {endpoint} page {page}: {reason}")
        self.endpoint = endpoint
        self.page = page
        self.reason = reason


@configspec
class JwTokenAuth(AuthConfigBase):
    """``Authorization: JwToken <jwt>``, minted per request as the CorePlus docs describe."""

    consumer_id: str = None
    consumer_secret: TSecretStrValue = None
    access_token: TSecretStrValue = None
    issuer: str = "https://d365-migrate.invalid"
    audience: str = "https://coreplus.com.au"
    lifetime: int = 60

    def token(self, method: str, url: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "nbf": now,
            "exp": now + self.lifetime,
            "consumerId": self.consumer_id,
            "accessToken": self.access_token,
            "url": urlsplit(url).path,
            "httpMethod": method.upper(),
        }
        return jwt.encode(claims, self.consumer_secret, algorithm="HS256")

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = "JwToken " + self.token(
            request.method or "GET", request.url or ""
        )
        request.headers["Content-Type"] = "application/json"
        return request


class CorePlusPaginator(BasePaginator):
    """Page numbers from 1 until ``pageNumber × pageSize`` covers ``paging.totalRows``."""

    def __init__(self, page_size: int) -> None:
        super().__init__()
        self.page_size = page_size
        self.page = 1

    def init_request(self, request: Request) -> None:
        self.page = 1
        request.params = {**(request.params or {}), "pageNumber": 1, "pageSize": self.page_size}

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        paging = response.json().get("paging") or {}
        total = int(paging.get("totalRows", 0))
        size = int(paging.get("pageSize", self.page_size))
        number = int(paging.get("pageNumber", self.page))
        self._has_next_page = number * size < total and bool(data)
        self.page = number + 1

    def update_request(self, request: Request) -> None:
        request.params = {**(request.params or {}), "pageNumber": self.page}

    def __str__(self) -> str:
        return f"CorePlusPaginator(page={self.page}, page_size={self.page_size})"


class Pacer:
    """Spaces requests ``1 / rate`` seconds apart (thread-safe), and backs off when told to."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


@dataclass
class RequestStats:
    requests: int = 0
    pages: int = 0
    throttled: int = 0  # 429s received
    retried: int = 0
    seconds_waiting: float = 0.0
    by_endpoint: dict[str, int] = field(default_factory=dict)


def _endpoint_and_page(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    page = parse_qs(parts.query).get("pageNumber", [None])[0]
    return parts.path, int(page) if page and page.isdigit() else None


class CorePlusSession(requests.Session):
    """A requests session that paces, signs and retries every CorePlus call."""

    def __init__(
        self,
        auth: JwTokenAuth,
        rate: float,
        *,
        max_attempts: int = 6,
        backoff: float = 0.5,
        timeout: float = 60.0,
    ) -> None:
        super().__init__()
        self.trust_env = False
        self.signer = auth
        self.pacer = Pacer(rate)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.stats = RequestStats()

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        hooks = request.hooks
        request.hooks = {"response": []}  # dlt's raise-for-status runs once, on the final answer
        kwargs.setdefault("timeout", self.timeout)
        endpoint, page = _endpoint_and_page(request.url or "")
        problem, unavailable = "no attempt made", True
        for attempt in range(1, self.max_attempts + 1):
            started = time.monotonic()
            self.pacer.wait()
            self.stats.seconds_waiting += time.monotonic() - started
            self.signer(request)
            self.stats.requests += 1
            self.stats.by_endpoint[endpoint] = self.stats.by_endpoint.get(endpoint, 0) + 1
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                problem, unavailable = f"connection failed: {error}", True
                self._retry_after(attempt, None)
                continue
            status = response.status_code
            if status == 429:
                self.stats.throttled += 1
                problem, unavailable = "429 Too Many Requests", True
                self._retry_after(attempt, response.headers.get("Retry-After"))
                continue
            if status >= 500:
                problem, unavailable = f"{status} {response.reason}", True
                self._retry_after(attempt, response.headers.get("Retry-After"))
                continue
            if status == 401:
                raise CorePlusAuthError(
                    f"CorePlus rejected the token for {endpoint}: {_messages(response)}. Check "
                    "COREPLUS_CONSUMER_ID / _SECRET / _ACCESS_TOKEN (sandbox and production "
                    "credentials differ) and that this machine's clock is right."
                )
            if status == 200:
                reason = _unparseable(response)
                if reason is not None:
                    problem, unavailable = reason, False
                    self._retry_after(attempt, None)
                    continue
                self.stats.pages += 1
            request.hooks = hooks
            for hook in hooks.get("response", []):
                hook(response)
            return response
        if unavailable:
            raise CorePlusUnavailable(
                f"CorePlus endpoint {endpoint} page {page}: gave up after "
                f"{self.max_attempts} attempts ({problem})"
            )
        raise CorePlusPageError(endpoint, page, f"{problem} (after {self.max_attempts} attempts)")

    def _retry_after(self, attempt: int, header: str | None) -> None:
        if attempt >= self.max_attempts:
            return
        self.stats.retried += 1
        delay = self.backoff * 2 ** (attempt - 1)
        if header:
            with contextlib.suppress(ValueError):
                delay = max(delay, float(header))
        self.pacer.hold(delay)


def _unparseable(response: Response) -> str | None:
    """Why a 200 page cannot be used, or None: not JSON, cut short, or no paging envelope."""
    try:
        body = json.loads(response.content)
    except ValueError as error:
        return f"the page is not valid JSON ({error}; {len(response.content)} bytes)"
    if not isinstance(body, dict) or not isinstance(body.get("paging"), dict):
        return "the page has no 'paging' envelope"
    lists = [value for value in body.values() if isinstance(value, list)]
    if not lists:
        return "the page holds no list of records"
    return None


def _messages(response: Response) -> str:
    try:
        messages = response.json().get("statusMessages") or []
        return "; ".join(str(m.get("message", m)) for m in messages) or response.text[:200]
    except ValueError:
        return response.text[:200]

"""Dataverse's service protection limits, a server-cost model and seeded fault injection.

Limits (Microsoft Learn, api-limits, 01/09/2026) are per user: requests and combined execution
time in a 5-minute sliding window, and concurrent requests. All limits and windows are in
*simulated* seconds; `time_scale` compresses them onto the wall clock (60 -> a 300 s window passes
in 5 s), so a load test can rehearse an hour against a real environment in a minute.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal


class SpecError(ValueError):
    """A --protection/--cost/--faults spec string that cannot be read."""


def _read_spec(spec: str, keys: set[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, equals, value = item.partition("=")
        if not equals or key.strip() not in keys:
            raise SpecError(f"'{item}' in '{spec}': expected key=value with key in {sorted(keys)}")
        values[key.strip()] = value.strip()
    return values


def _number(values: dict[str, str], key: str, default: float) -> float:
    try:
        return float(values[key]) if key in values else default
    except ValueError:
        raise SpecError(f"{key}={values[key]!r} is not a number") from None


@dataclass(frozen=True)
class ProtectionConfig:
    enabled: bool = False
    max_requests: int = 6000
    max_execution_seconds: float = 1200
    window_seconds: float = 300
    max_concurrent: int = 52
    # x-ms-dop-hint: Microsoft's docs give no default; live environments have been seen sending
    # 4 (a single-server trial) up to 48. 4 is the conservative end: a client that follows it
    # stays far below the concurrency limit. Load tests set dop= explicitly.
    dop_hint: int = 4
    time_scale: float = 1.0

    @classmethod
    def from_spec(cls, spec: str) -> ProtectionConfig:
        """`off`, `default` or `requests=100,window=10,execution=60,concurrent=5,dop=4,scale=60`"""
        if spec.strip() in ("", "off"):
            return cls()
        if spec.strip() in ("on", "default"):
            return cls(enabled=True)
        keys = {"requests", "window", "execution", "concurrent", "dop", "scale"}
        values = _read_spec(spec, keys)
        config = cls(
            enabled=True,
            max_requests=int(_number(values, "requests", cls.max_requests)),
            window_seconds=_number(values, "window", cls.window_seconds),
            max_execution_seconds=_number(values, "execution", cls.max_execution_seconds),
            max_concurrent=int(_number(values, "concurrent", cls.max_concurrent)),
            dop_hint=int(_number(values, "dop", cls.dop_hint)),
            time_scale=_number(values, "scale", cls.time_scale),
        )
        if min(config.max_requests, config.max_concurrent, config.dop_hint) < 1:
            raise SpecError(f"'{spec}': requests, concurrent and dop must be at least 1")
        if min(config.window_seconds, config.max_execution_seconds, config.time_scale) <= 0:
            raise SpecError(f"'{spec}': window, execution and scale must be positive")
        return config


@dataclass(frozen=True, kw_only=True)
class Throttle:
    """A 429 answer. The server sends `Retry-After: <retry_after_seconds>`.

    `retry_after` is the exact wait in wall-clock seconds (simulated seconds / time_scale);
    `retry_after_seconds` is that rounded up to the integer the header needs, at least 1 (with a
    compressed clock a client may thus wait longer than strictly needed, never shorter).
    """

    status: int = 429
    retry_after_seconds: int
    retry_after: float
    code: str
    message: str

    def error_body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


REQUESTS_EXCEEDED = "0x80072322"
EXECUTION_TIME_EXCEEDED = "0x80072321"
CONCURRENCY_EXCEEDED = "0x80072326"


@dataclass
class _UserWindow:
    requests: deque[float] = field(default_factory=deque)  # simulated admission times
    executions: deque[tuple[float, float]] = field(default_factory=deque)  # (time, seconds)
    execution_total: float = 0.0
    in_flight: int = 0

    def prune(self, now: float, window: float) -> None:
        horizon = now - window
        while self.requests and self.requests[0] <= horizon:
            self.requests.popleft()
        while self.executions and self.executions[0][0] <= horizon:
            self.execution_total -= self.executions.popleft()[1]
        if not self.executions:
            self.execution_total = 0.0  # no float drift once the window is empty


class ServiceProtection:
    """Per-user limits: call `admit` before handling a request and `release` after it."""

    def __init__(self, config: ProtectionConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self._clock = clock
        self._users: dict[str, _UserWindow] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self._clock() * self.config.time_scale

    def _user(self, user_id: str, now: float) -> _UserWindow:
        user = self._users.setdefault(user_id, _UserWindow())
        user.prune(now, self.config.window_seconds)
        return user

    def admit(self, user_id: str) -> Throttle | None:
        """None to go ahead (the request then counts as in flight), or the 429 to answer."""
        if not self.config.enabled:
            return None
        with self._lock:
            now = self._now()
            user = self._user(user_id, now)
            if user.in_flight >= self.config.max_concurrent:
                return self._throttle(CONCURRENCY_EXCEEDED, simulated_wait=1.0)
            # A throttled request still counts: a client that keeps sending extends its wait.
            user.requests.append(now)
            if len(user.requests) > self.config.max_requests:
                return self._throttle(REQUESTS_EXCEEDED, self._request_wait(user, now))
            if user.execution_total >= self.config.max_execution_seconds:
                return self._throttle(EXECUTION_TIME_EXCEEDED, self._execution_wait(user, now))
            user.in_flight += 1
            return None

    def release(self, user_id: str, execution_seconds: float) -> None:
        """End an admitted request, charging its execution time in simulated seconds."""
        if not self.config.enabled:
            return
        with self._lock:
            now = self._now()
            user = self._user(user_id, now)
            user.in_flight = max(0, user.in_flight - 1)
            if execution_seconds > 0:
                user.executions.append((now, execution_seconds))
                user.execution_total += execution_seconds

    def headers(self, user_id: str) -> dict[str, str]:
        """The x-ms-ratelimit-* and x-ms-dop-hint headers, formatted as Dataverse sends them."""
        with self._lock:
            now = self._now()
            user = self._user(user_id, now)
            requests_left = max(0, self.config.max_requests - len(user.requests))
            seconds_left = max(0.0, self.config.max_execution_seconds - user.execution_total)
        return {
            "x-ms-ratelimit-burst-remaining-xrm-requests": str(requests_left),
            "x-ms-ratelimit-time-remaining-xrm-requests": f"{seconds_left:,.2f}",
            "x-ms-dop-hint": str(self.config.dop_hint),
        }

    def _request_wait(self, user: _UserWindow, now: float) -> float:
        # Wait until enough of the oldest requests leave the window that the next one fits.
        excess = len(user.requests) - self.config.max_requests
        return user.requests[excess] + self.config.window_seconds - now

    def _execution_wait(self, user: _UserWindow, now: float) -> float:
        remaining = user.execution_total
        for started, seconds in user.executions:
            remaining -= seconds
            if remaining < self.config.max_execution_seconds:
                return started + self.config.window_seconds - now
        return self.config.window_seconds

    def _throttle(self, code: str, simulated_wait: float) -> Throttle:
        config = self.config
        messages = {
            REQUESTS_EXCEEDED: f"Number of requests exceeded the limit of {config.max_requests}"
            f" over time window of {_plain(config.window_seconds)} seconds.",
            EXECUTION_TIME_EXCEEDED: "Combined execution time of incoming requests exceeded "
            f"limit of {config.max_execution_seconds * 1000:,.0f}  milliseconds over time window"
            f" of {_plain(config.window_seconds)} seconds. Decrease number of concurrent requests"
            " or reduce the duration of requests and try again later.",
            CONCURRENCY_EXCEEDED: "Number of concurrent requests exceeded the limit of "
            f"{config.max_concurrent}.",
        }
        wall_wait = max(simulated_wait, 0.0) / config.time_scale
        return Throttle(
            retry_after_seconds=max(1, math.ceil(wall_wait)),
            retry_after=wall_wait,
            code=code,
            message=messages[code],
        )


def _plain(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


@dataclass(frozen=True)
class CostModel:
    """Server time per request and per record, so a local run costs what Dataverse would."""

    per_request_ms: float = 0
    per_record_ms: float = 0
    time_scale: float = 1.0

    def simulated_seconds(self, records: int) -> float:
        """Execution time to charge against the service protection window."""
        return (self.per_request_ms + self.per_record_ms * max(records, 0)) / 1000

    def seconds(self, records: int) -> float:
        """Wall-clock time for the server to sleep."""
        return self.simulated_seconds(records) / self.time_scale

    @classmethod
    def calibrated(cls, time_scale: float = 1.0) -> CostModel:
        # Sequential CreateMultiple on a standard table (microsoft/SLG-Business-Applications
        # test, research notes section 3): 50/call 7,870 rec/min -> 381 ms per call; 100/call
        # 8,241 -> 728 ms; 500/call 9,202 -> 3,260 ms; 1000/call 9,100 -> 6,593 ms. A straight
        # line through these calls gives ~6.5 ms per record plus ~70 ms per request.
        return cls(per_request_ms=70.0, per_record_ms=6.5, time_scale=time_scale)

    @classmethod
    def from_spec(cls, spec: str) -> CostModel:
        """`off`, `calibrated,scale=60` or `request=5,record=6.5,scale=10`."""
        items = [item.strip() for item in spec.split(",") if item.strip()]
        if not items or items == ["off"]:
            return cls()
        calibrated = items[0] == "calibrated"
        values = _read_spec(",".join(items[calibrated:]), {"request", "record", "scale"})
        base = cls.calibrated() if calibrated else cls()
        model = cls(
            per_request_ms=_number(values, "request", base.per_request_ms),
            per_record_ms=_number(values, "record", base.per_record_ms),
            time_scale=_number(values, "scale", base.time_scale),
        )
        if model.time_scale <= 0 or min(model.per_request_ms, model.per_record_ms) < 0:
            raise SpecError(f"'{spec}': scale must be positive and costs not negative")
        return model


Fault = Literal["none", "5xx", "drop", "slow"]


@dataclass(frozen=True)
class FaultConfig:
    seed: int = 0
    rate_5xx: float = 0
    rate_drop: float = 0
    rate_slow: float = 0
    slow_seconds: float = 2.0

    @classmethod
    def from_spec(cls, spec: str) -> FaultConfig:
        """`off` or `seed=7,5xx=0.05,drop=0.01,slow=0.02,slow_seconds=2`."""
        if spec.strip() in ("", "off"):
            return cls()
        values = _read_spec(spec, {"seed", "5xx", "drop", "slow", "slow_seconds"})
        config = cls(
            seed=int(_number(values, "seed", 0)),
            rate_5xx=_number(values, "5xx", 0),
            rate_drop=_number(values, "drop", 0),
            rate_slow=_number(values, "slow", 0),
            slow_seconds=_number(values, "slow_seconds", cls.slow_seconds),
        )
        rates = (config.rate_5xx, config.rate_drop, config.rate_slow)
        if min(rates) < 0 or sum(rates) > 1:
            raise SpecError(f"'{spec}': rates must be between 0 and 1 and sum to at most 1")
        return config


class FaultInjector:
    """Decides a fault per request index from (seed, index) alone, so a failing run replays."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config

    def decide(self, request_index: int) -> Fault:
        config = self.config
        if config.rate_5xx + config.rate_drop + config.rate_slow <= 0:
            return "none"
        digest = hashlib.blake2b(f"{config.seed}:{request_index}".encode(), digest_size=8)
        draw = int.from_bytes(digest.digest(), "big") / 2**64
        if draw < config.rate_5xx:
            return "5xx"
        if draw < config.rate_5xx + config.rate_drop:
            return "drop"
        if draw < config.rate_5xx + config.rate_drop + config.rate_slow:
            return "slow"
        return "none"

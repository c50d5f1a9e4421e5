"""How hard to push Dataverse: concurrency and batch size, adapted to what the server answers.

Microsoft's advice (research notes §1): start from `x-ms-dop-hint`, let the server set the rate,
honour `Retry-After`, ramp up gradually. The pacer is shared by every sender thread of a run:

- concurrency starts at the DOP hint and grows by one after each success (it doubles every round
  trip, as TCP's slow start) up to `max_concurrency` (default 52, Dataverse's concurrency limit);
- the concurrency 429 means the server's real limit is lower: concurrency drops to one below what
  was in flight and never grows past that again;
- the execution-time and request-count 429s are budgets over a 5-minute sliding window, not a
  rate: every sender pauses until `Retry-After` has passed (one wait, not one per thread) and then
  goes on at the same concurrency. Halving it (as an earlier version did) only left the budget
  that the window gives back unused: after the pause the server admits whatever is sent until the
  budget is spent again, and the server, not the client, says when that is;
- the bulk batch size starts at `batch_size` and doubles after a quick success up to
  `max_batch_size`; a 5xx, a timeout or a slow answer halves it (small requests fail less).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["PaceConfig", "Pacer", "EXECUTION_TIME_EXCEEDED", "CONCURRENCY_EXCEEDED"]

REQUESTS_EXCEEDED = "0x80072322"
EXECUTION_TIME_EXCEEDED = "0x80072321"
CONCURRENCY_EXCEEDED = "0x80072326"


@dataclass(frozen=True)
class PaceConfig:
    batch_size: int = 100  # first bulk request size (Microsoft: start at 100-1,000)
    max_batch_size: int = 1000
    min_batch_size: int = 1
    batch_requests: int = 50  # operations per $batch (tables without bulk messages)
    concurrency: int | None = None  # start; None = the server's x-ms-dop-hint
    max_concurrency: int = 52  # per application user; Dataverse's own limit ("52 or higher")
    slow_seconds: float = 60.0  # an answer slower than this shrinks the batch


class Pacer:
    def __init__(
        self,
        config: PaceConfig,
        dop_hint: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        start = config.concurrency or dop_hint or 4
        self.limit = max(1, min(start, config.max_concurrency))
        self.batch_size = max(config.min_batch_size, min(config.batch_size, config.max_batch_size))
        self._clock, self._sleep = clock, sleep
        self._cond = threading.Condition()
        self._in_flight = 0
        self._resume_at = 0.0
        self.ceiling = config.max_concurrency  # lowered by the concurrency 429
        self.throttles = 0
        self.waited = 0.0  # seconds all senders were paused by Retry-After (overlaps merged)
        self.peak = self.limit

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of `limit` request slots, after any pause a 429 asked for."""
        with self._cond:
            while True:
                wait = self._resume_at - self._clock()
                if wait > 0:
                    self._cond.wait(wait)
                elif self._in_flight >= self.limit:
                    self._cond.wait(0.5)
                else:
                    break
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def success(self, seconds: float, records: int) -> None:
        with self._cond:
            if self.limit < self.ceiling:
                self.limit += 1
                self.peak = max(self.peak, self.limit)
                self._cond.notify_all()
            if seconds < self.config.slow_seconds / 4 and records >= self.batch_size:
                self.batch_size = min(self.batch_size * 2, self.config.max_batch_size)
            elif seconds > self.config.slow_seconds:
                self._shrink_batch()

    def throttled(self, code: str, retry_after: float) -> None:
        """A 429: everyone waits `retry_after` (no longer); the concurrency 429 lowers the cap."""
        with self._cond:
            self.throttles += 1
            now = self._clock()
            resume = now + retry_after
            if resume > self._resume_at:
                self.waited += resume - max(now, self._resume_at)
                self._resume_at = resume
            if code == CONCURRENCY_EXCEEDED:
                self.ceiling = max(1, min(self.ceiling, self._in_flight - 1))
                self.limit = min(self.limit, self.ceiling)

    def transient(self) -> None:
        with self._cond:
            self._shrink_batch()

    def _shrink_batch(self) -> None:
        self.batch_size = max(self.config.min_batch_size, self.batch_size // 2)

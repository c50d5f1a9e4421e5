"""The pacer: starts at the DOP hint, ramps up, pauses all on a 429 for its Retry-After."""

from __future__ import annotations

from load.pace import CONCURRENCY_EXCEEDED, EXECUTION_TIME_EXCEEDED, PaceConfig, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_starts_at_the_dop_hint_and_ramps_up_to_the_cap():
    pacer = Pacer(PaceConfig(max_concurrency=6), dop_hint=4)
    assert pacer.limit == 4
    for _ in range(40):
        pacer.success(1.0, 0)
    assert pacer.limit == 6 and pacer.peak == 6


def test_ramp_doubles_every_round_trip():
    pacer = Pacer(PaceConfig(), dop_hint=4)
    for _ in range(4):  # one round trip at 4 in flight
        pacer.success(1.0, 0)
    assert pacer.limit == 8
    for _ in range(8):
        pacer.success(1.0, 0)
    assert pacer.limit == 16


def test_execution_time_429_pauses_everyone_for_retry_after_and_keeps_concurrency():
    clock = Clock()
    pacer = Pacer(PaceConfig(), dop_hint=8, clock=clock)
    pacer.throttled(EXECUTION_TIME_EXCEEDED, 30)
    # The window's budget comes back when the server says: no less concurrency after the pause.
    assert pacer.limit == 8 and pacer._resume_at == 30 and pacer.waited == 30
    clock.now = 10
    pacer.throttled(EXECUTION_TIME_EXCEEDED, 5)
    assert pacer._resume_at == 30 and pacer.waited == 30  # the longer wait stands
    pacer.throttled(EXECUTION_TIME_EXCEEDED, 25)
    assert pacer._resume_at == 35 and pacer.waited == 35  # overlapping waits counted once


def test_concurrency_429_caps_concurrency_below_what_was_in_flight():
    pacer = Pacer(PaceConfig(max_concurrency=52), dop_hint=4)
    with pacer.slot(), pacer.slot(), pacer.slot():
        pacer.throttled(CONCURRENCY_EXCEEDED, 1)
    assert pacer.limit == 2 and pacer.ceiling == 2
    for _ in range(10):
        pacer.success(1.0, 0)
    assert pacer.limit == 2  # never past what the server refused


def test_batch_size_doubles_on_quick_success_and_halves_on_trouble():
    pacer = Pacer(PaceConfig(batch_size=100, max_batch_size=1000), dop_hint=4)
    pacer.success(0.5, 100)
    pacer.success(0.5, 200)
    assert pacer.batch_size == 400
    for _ in range(5):
        pacer.success(0.5, 1000)
    assert pacer.batch_size == 1000
    pacer.transient()
    assert pacer.batch_size == 500

"""The pacer: starts at the DOP hint, ramps up, halves on the execution-time 429, pauses all."""

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


def test_execution_time_429_halves_concurrency_and_pauses_everyone():
    clock = Clock()
    pacer = Pacer(PaceConfig(), dop_hint=8, clock=clock)
    pacer.throttled(EXECUTION_TIME_EXCEEDED, 30)
    assert pacer.limit == 4 and pacer._resume_at == 30
    pacer.throttled(CONCURRENCY_EXCEEDED, 1)
    assert pacer.limit == 3 and pacer._resume_at == 30  # the longer wait stands


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

"""Service protection limits, the cost model and fault injection, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from sandbox.dataverse.protection import (
    CostModel,
    FaultConfig,
    FaultInjector,
    ProtectionConfig,
    ServiceProtection,
    SpecError,
    Throttle,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def protection(spec: str) -> tuple[ServiceProtection, FakeClock]:
    clock = FakeClock()
    return ServiceProtection(ProtectionConfig.from_spec(spec), clock=clock), clock


def run_request(guard: ServiceProtection, user: str = "u", seconds: float = 0.0) -> Throttle | None:
    throttle = guard.admit(user)
    if throttle is None:
        guard.release(user, seconds)
    return throttle


def test_default_messages_are_exactly_microsofts() -> None:
    config = ProtectionConfig(enabled=True, max_requests=1, max_execution_seconds=1200)
    clock = FakeClock()
    guard = ServiceProtection(config, clock=clock)
    assert run_request(guard) is None
    requests = run_request(guard)

    busy = ServiceProtection(ProtectionConfig(enabled=True, max_concurrent=52), clock=clock)
    for _ in range(52):
        assert busy.admit("u") is None
    concurrent = busy.admit("u")

    slow = ServiceProtection(ProtectionConfig(enabled=True), clock=clock)
    assert run_request(slow, seconds=1200) is None
    execution = run_request(slow)

    assert requests is not None and concurrent is not None and execution is not None
    assert (requests.status, requests.code) == (429, "0x80072322")
    assert requests.message == (
        "Number of requests exceeded the limit of 1 over time window of 300 seconds."
    )
    assert (concurrent.code, concurrent.message) == (
        "0x80072326",
        "Number of concurrent requests exceeded the limit of 52.",
    )
    assert execution.code == "0x80072321"
    assert execution.message == (
        "Combined execution time of incoming requests exceeded limit of 1,200,000  milliseconds "
        "over time window of 300 seconds. Decrease number of concurrent requests or reduce the "
        "duration of requests and try again later."
    )
    assert execution.error_body() == {"error": {"code": "0x80072321", "message": execution.message}}


def test_default_request_message_names_6000() -> None:
    guard, _ = protection("default")
    for _ in range(6000):
        assert run_request(guard) is None

    throttle = run_request(guard)

    assert throttle is not None
    assert throttle.message == (
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
    )


def test_disabled_protection_admits_everything_and_tracks_nothing() -> None:
    guard, _ = protection("off")

    assert all(guard.admit("u") is None for _ in range(10_000))
    assert ProtectionConfig.from_spec("off") == ProtectionConfig()


def test_request_window_slides_and_retry_after_is_time_until_a_slot_frees() -> None:
    guard, clock = protection("requests=3,window=10")
    for _ in range(2):
        assert run_request(guard) is None
    clock.advance(4)
    assert run_request(guard) is None

    throttle = run_request(guard)

    assert throttle is not None and throttle.code == "0x80072322"
    assert throttle.retry_after == pytest.approx(6.0)  # the first two leave the window at t+10
    assert throttle.retry_after_seconds == 6
    clock.advance(6)
    assert run_request(guard) is None, "the oldest requests have left the window"


def test_waiting_exactly_retry_after_is_enough() -> None:
    guard, clock = protection("requests=3,window=10")
    for step in (0, 1, 2):
        clock.advance(step)
        assert run_request(guard) is None

    throttle = run_request(guard)

    assert throttle is not None
    clock.advance(throttle.retry_after)
    assert run_request(guard) is None


def test_retry_after_grows_when_the_client_keeps_sending() -> None:
    guard, clock = protection("requests=2,window=10")
    run_request(guard)
    run_request(guard)
    first = run_request(guard)
    clock.advance(1)
    run_request(guard)
    run_request(guard)
    clock.advance(1)
    later = run_request(guard)

    assert first is not None and later is not None
    assert later.retry_after > first.retry_after - 2  # waited 2 s yet the wait did not shrink


def test_limits_are_per_user() -> None:
    guard, _ = protection("requests=1,window=10")

    assert run_request(guard, "alice") is None
    assert run_request(guard, "bob") is None
    assert run_request(guard, "alice") is not None


def test_execution_time_limit_uses_released_seconds() -> None:
    guard, clock = protection("requests=1000,execution=10,window=60")
    assert run_request(guard, seconds=4) is None
    clock.advance(5)
    assert run_request(guard, seconds=7) is None

    throttle = run_request(guard)

    assert throttle is not None and throttle.code == "0x80072321"
    assert throttle.retry_after == pytest.approx(55.0)  # the 4 s request leaves at t+60
    clock.advance(55)
    assert run_request(guard) is None


def test_concurrency_is_rejected_immediately_and_freed_by_release() -> None:
    guard, _ = protection("concurrent=2")
    assert guard.admit("u") is None
    assert guard.admit("u") is None

    throttle = guard.admit("u")

    assert throttle is not None and throttle.code == "0x80072326"
    assert throttle.retry_after_seconds == 1
    guard.release("u", 0.1)
    assert guard.admit("u") is None


def test_time_scale_compresses_the_window_and_the_retry_after() -> None:
    guard, clock = protection("requests=2,window=300,scale=60")
    run_request(guard)
    run_request(guard)

    throttle = run_request(guard)

    assert throttle is not None
    assert throttle.retry_after == pytest.approx(5.0)  # 300 simulated s = 5 wall s
    assert throttle.retry_after_seconds == 5
    clock.advance(5)
    assert run_request(guard) is None


def test_compressed_retry_after_header_is_rounded_up_to_at_least_one() -> None:
    guard, clock = protection("requests=1,window=300,scale=600")
    run_request(guard)
    clock.advance(0.2)

    throttle = run_request(guard)

    assert throttle is not None
    # the rejected request (at 120 simulated s) counts too: free again at 420 s = 0.5 wall s
    assert throttle.retry_after == pytest.approx(0.5)
    assert throttle.retry_after_seconds == 1


def test_headers_report_remaining_budget_in_dataverse_format() -> None:
    guard, _ = protection("requests=8000,dop=48")
    assert guard.headers("u") == {
        "x-ms-ratelimit-burst-remaining-xrm-requests": "8000",
        "x-ms-ratelimit-time-remaining-xrm-requests": "1,200.00",
        "x-ms-dop-hint": "48",
    }

    run_request(guard, seconds=0.54)

    headers = guard.headers("u")
    assert headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "7999"
    assert headers["x-ms-ratelimit-time-remaining-xrm-requests"] == "1,199.46"


def test_admit_is_thread_safe() -> None:
    guard = ServiceProtection(ProtectionConfig.from_spec("requests=500,concurrent=1000"))
    throttles: list[Throttle | None] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            result = guard.admit("u")
            with lock:
                throttles.append(result)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(t is None for t in throttles) == 500


@pytest.mark.parametrize(
    "spec",
    ["requests", "bogus=1", "requests=abc", "requests=0", "scale=0", "window=-1"],
)
def test_bad_protection_specs_are_rejected(spec: str) -> None:
    with pytest.raises(SpecError):
        ProtectionConfig.from_spec(spec)


def test_protection_spec_reads_every_key() -> None:
    config = ProtectionConfig.from_spec(
        "requests=100,window=10,execution=60,concurrent=5,dop=4,scale=60"
    )

    assert config == ProtectionConfig(True, 100, 60, 10, 5, 4, 60)
    assert ProtectionConfig.from_spec("default") == ProtectionConfig(enabled=True)


def test_cost_model_charges_per_request_and_per_record() -> None:
    model = CostModel.from_spec("request=5,record=6.5,scale=10")

    assert model.simulated_seconds(1000) == pytest.approx(6.505)
    assert model.seconds(1000) == pytest.approx(0.6505)
    assert model.simulated_seconds(0) == pytest.approx(0.005)
    assert CostModel.from_spec("off").seconds(10_000) == 0


def test_calibrated_cost_matches_the_published_createmultiple_rate() -> None:
    model = CostModel.from_spec("calibrated,scale=60")
    records_per_minute = 60 / model.simulated_seconds(1000) * 1000

    assert 8_500 <= records_per_minute <= 9_500  # published: ~9,100-9,200 per minute
    assert model.time_scale == 60
    assert model.seconds(1000) == pytest.approx(model.simulated_seconds(1000) / 60)
    assert CostModel.calibrated(time_scale=2).per_record_ms == 6.5


def test_fault_injection_replays_from_its_seed() -> None:
    config = FaultConfig.from_spec("seed=7,5xx=0.05,drop=0.01,slow=0.02")
    first = [FaultInjector(config).decide(i) for i in range(20_000)]
    again = [FaultInjector(config).decide(i) for i in range(20_000)]
    other_seed = [FaultInjector(FaultConfig(8, 0.05, 0.01, 0.02)).decide(i) for i in range(20_000)]

    assert first == again
    assert first != other_seed
    assert first.count("5xx") / len(first) == pytest.approx(0.05, abs=0.01)
    assert first.count("drop") / len(first) == pytest.approx(0.01, abs=0.005)
    assert first.count("slow") / len(first) == pytest.approx(0.02, abs=0.005)
    assert config.slow_seconds == 2.0


def test_no_faults_by_default() -> None:
    injector = FaultInjector(FaultConfig.from_spec("off"))

    assert {injector.decide(i) for i in range(1000)} == {"none"}


@pytest.mark.parametrize("spec", ["5xx=0.7,drop=0.5", "slow=-0.1", "rate=1"])
def test_bad_fault_specs_are_rejected(spec: str) -> None:
    with pytest.raises(SpecError):
        FaultConfig.from_spec(spec)

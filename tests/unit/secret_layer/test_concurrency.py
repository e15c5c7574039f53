"""Single flight under real threads, against moto (in-process, no sockets)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from tests.unit.secret_layer.support import aws_error_response, create_secret, put_value

from secret_service import SecretNotFoundError, SecretService, SecretUnavailableError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from tests.unit.secret_layer.support import FakeClock

WAIT_S = 10.0  # only a safety net: every wait below is released explicitly


class Gate:
    """A before-parameter-build hook that holds GetSecretValue for chosen secrets until opened."""

    def __init__(self, *held: str) -> None:
        self.held = set(held)
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        secret_id = params["SecretId"]
        with self._lock:
            self.calls.append(secret_id)
        if secret_id in self.held:
            self.entered.set()
            assert self.opened.wait(WAIT_S), "gate never opened"


def wait_until(predicate: Any) -> None:
    done = threading.Event()
    for _ in range(1000):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")


@pytest.fixture
def gated(sm: SecretsManagerClient) -> tuple[SecretsManagerClient, Gate]:
    gate = Gate("cold")
    sm.meta.events.register("before-parameter-build.secrets-manager.GetSecretValue", gate)
    create_secret(sm, "cold", "herd-value-cold-71")
    create_secret(sm, "warm", "herd-value-warm-72")
    return sm, gate


def test_32_threads_on_one_cold_secret_make_one_api_call(
    gated: tuple[SecretsManagerClient, Gate],
) -> None:
    # Given 32 threads and a cold secret whose read is held open
    client, gate = gated
    secrets = SecretService(client)

    # When all 32 read it while the first read is in flight
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(secrets.get_secret_string, "cold") for _ in range(32)]
        assert gate.entered.wait(WAIT_S)
        wait_until(lambda: secrets.stats().coalesced == 31)
        gate.opened.set()
        values = [f.result(timeout=WAIT_S) for f in futures]

    # Then one GetSecretValue served all 32
    assert values == ["herd-value-cold-71"] * 32
    assert gate.calls == ["cold"]
    stats = secrets.stats()
    assert (stats.api_calls, stats.misses, stats.coalesced) == (1, 32, 31)


def test_a_slow_refresh_of_one_secret_never_blocks_readers_of_another(
    gated: tuple[SecretsManagerClient, Gate],
) -> None:
    # Given the read of "cold" stuck in flight
    client, gate = gated
    secrets = SecretService(client)
    with ThreadPoolExecutor(max_workers=2) as pool:
        stuck = pool.submit(secrets.get_secret_string, "cold")
        assert gate.entered.wait(WAIT_S)

        # When another thread reads "warm" (a miss, then a hit)
        other = pool.submit(lambda: [secrets.get_secret_string("warm") for _ in range(2)])

        # Then it completes while "cold" is still held
        assert other.result(timeout=WAIT_S) == ["herd-value-warm-72"] * 2
        assert not stuck.done()
        gate.opened.set()
        assert stuck.result(timeout=WAIT_S) == "herd-value-cold-71"


def test_every_waiting_thread_gets_the_typed_error_of_a_failed_read(
    sm: SecretsManagerClient,
) -> None:
    # Given a read of a missing secret held in flight while 7 more threads wait on it
    gate = Gate("missing")
    sm.meta.events.register("before-parameter-build.secrets-manager.GetSecretValue", gate)
    secrets = SecretService(sm)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(secrets.get_secret_string, "missing") for _ in range(8)]
        assert gate.entered.wait(WAIT_S)
        wait_until(lambda: secrets.stats().coalesced == 7)
        gate.opened.set()
        errors = [f.exception(timeout=WAIT_S) for f in futures]

    # Then all 8 raise SecretNotFoundError naming it, from one call
    assert all(isinstance(e, SecretNotFoundError) for e in errors)
    assert {e.secret_id for e in errors if isinstance(e, SecretNotFoundError)} == {"missing"}
    assert len({id(e) for e in errors}) == 8  # each thread raised its own instance
    assert gate.calls == ["missing"]
    assert secrets.stats().errors == 8


def test_hits_from_many_threads_are_all_counted(sm: SecretsManagerClient) -> None:
    create_secret(sm, "hot", "herd-value-hot-73")
    secrets = SecretService(sm)
    secrets.get_secret_string("hot")

    def read_many() -> None:
        for _ in range(5_000):
            secrets.get_secret_string("hot")

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(read_many) for _ in range(8)]:
            future.result(timeout=WAIT_S * 3)

    assert secrets.stats().hits == 40_000


class HoldAfterCall:
    """An after-call hook: the first GetSecretValue has its answer, then waits to return."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.calls = 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            assert self.opened.wait(WAIT_S), "hold never released"


@contextmanager
def read_held_with_old_value(
    sm: SecretsManagerClient, old: str, new: str
) -> Iterator[tuple[SecretService, HoldAfterCall, Future[str]]]:
    """A read of "db" that holds ``old`` but has not returned; the secret is then ``new``."""
    create_secret(sm, "db", old)
    hold = HoldAfterCall()
    sm.meta.events.register("after-call.secrets-manager.GetSecretValue", hold)
    secrets = SecretService(sm)
    with ThreadPoolExecutor(max_workers=1) as pool:
        old_read = pool.submit(secrets.get_secret_string, "db")
        assert hold.entered.wait(WAIT_S)
        put_value(sm, "db", new)
        try:
            yield secrets, hold, old_read
        finally:
            hold.opened.set()


def test_a_read_in_flight_during_invalidate_does_not_refill_the_cache_with_its_old_value(
    sm: SecretsManagerClient,
) -> None:
    # Given a read of "db" that already holds the old value but has not returned yet
    with read_held_with_old_value(sm, "inflight-old-value-81", "inflight-new-value-82") as (
        secrets,
        hold,
        old_read,
    ):
        # When the app invalidates the changed secret, then the old read returns
        secrets.invalidate("db")
        hold.opened.set()
        assert old_read.result(timeout=WAIT_S) == "inflight-old-value-81"

    # Then the next read fetches again and sees the new value
    assert secrets.get_secret_string("db") == "inflight-new-value-82"
    assert hold.calls == 2


def test_a_read_after_invalidate_does_not_join_a_flight_started_before_it(
    sm: SecretsManagerClient,
) -> None:
    # Given a read of "db" in flight with the old value
    with read_held_with_old_value(sm, "inflight-old-value-83", "inflight-new-value-84") as (
        secrets,
        hold,
        old_read,
    ):
        # When the changed secret is invalidated, a new read does not wait on the old one
        secrets.invalidate()
        fresh = secrets.get_secret_string("db")
        hold.opened.set()
        old_read.result(timeout=WAIT_S)

    # Then it got the new value, and it stays cached after the old flight ended
    assert fresh == "inflight-new-value-84"
    assert secrets.get_secret_string("db") == "inflight-new-value-84"
    assert secrets.stats().api_calls == 2


def test_reads_invalidations_and_evictions_in_parallel_stay_consistent(
    sm: SecretsManagerClient,
) -> None:
    # Given 24 secrets, a cache bounded at 6 entries, 6 reader threads and an invalidator
    names = [f"many-{i}" for i in range(24)]
    for name in names:
        create_secret(sm, name, f"parallel-value-{name}")
    secrets = SecretService(sm, max_entries=6)
    reads_per_thread = 150  # at least; more until the invalidator has done its share
    stop = threading.Event()
    churned = threading.Event()  # 5 invalidations done, an invalidate-all among them
    reads: list[int] = []
    wrong: list[tuple[str, str]] = []

    def reader(seed: int) -> None:
        # Reads until the invalidator has churned, however the threads are scheduled: a
        # count of invalidations met only if they interleave "as usual" would flake.
        i = 0
        while i < reads_per_thread or not churned.is_set():
            if i >= 100 * reads_per_thread:
                break  # safety net: the invalidator is stuck, the assertions below say so
            name = names[(seed * 7 + i * (seed + 1)) % len(names)]
            value = secrets.get_secret_string(name)
            if value != f"parallel-value-{name}":
                wrong.append((name, value))
            i += 1
        reads.append(i)

    def invalidator() -> int:
        # Paced by the readers, not by the clock, so a loaded machine cannot let it empty
        # the cache faster than the readers fill it: each single invalidation waits for two
        # fresh misses (net growth, so the bound is reached), and each invalidate-all waits
        # for an eviction since the last one.
        i = 0
        misses_seen = evictions_seen = 0
        while not stop.is_set():
            stats = secrets.stats()
            if i % 5 == 4:
                if stats.evictions <= evictions_seen:
                    stop.wait(0.0005)
                    continue
                evictions_seen = stats.evictions
                secrets.invalidate()
            else:
                if stats.misses < misses_seen + 2:
                    stop.wait(0.0005)
                    continue
                misses_seen = stats.misses
                secrets.invalidate(names[i % len(names)])
            i += 1
            if i == 5:
                churned.set()
        return i

    # When they all run at once
    with ThreadPoolExecutor(max_workers=7) as pool:
        churn = pool.submit(invalidator)
        readers = [pool.submit(reader, seed) for seed in range(6)]
        for future in readers:
            future.result(timeout=WAIT_S * 6)
        stop.set()
        invalidations = churn.result(timeout=WAIT_S)

    # Then every read returned its own secret, the bound held, and the counters add up
    assert wrong == []
    assert invalidations >= 5
    stats = secrets.stats()
    assert stats.entries <= 6
    assert stats.hits + stats.misses == sum(reads)
    assert stats.evictions > 0
    assert stats.errors == 0
    assert len(secrets._flights) == 0


@pytest.mark.parametrize("leader_forced", [False, True], ids=["plain-leads", "forced-leads"])
def test_a_forced_and_a_plain_read_sharing_a_failing_call_each_keep_their_promise(
    sm: SecretsManagerClient, clock: FakeClock, leader_forced: bool
) -> None:
    # Given an expired cached value, and an API that now fails after a held moment
    create_secret(sm, "db", "forced-stale-value-85")
    secrets = SecretService(sm, ttl_s=60, max_attempts=1, clock=clock, sleep=clock.sleep)
    secrets.get_secret_string("db")
    clock.advance(61)
    held = threading.Event()
    entered = threading.Event()

    def failing(**_: Any) -> Any:
        entered.set()
        assert held.wait(WAIT_S)
        return aws_error_response(503, "ServiceUnavailable")

    sm.meta.events.register_first("before-send.secrets-manager.GetSecretValue", failing)

    # When one read is in flight and the other joins it
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(secrets.get_secret_string, "db", force_refresh=leader_forced)
        assert entered.wait(WAIT_S)
        second = pool.submit(secrets.get_secret_string, "db", force_refresh=not leader_forced)
        wait_until(lambda: secrets.stats().coalesced == 1)
        held.set()
        forced, plain = (first, second) if leader_forced else (second, first)

        # Then the plain read gets the stale value, the forced one the typed error
        assert plain.result(timeout=WAIT_S) == "forced-stale-value-85"
        assert isinstance(forced.exception(timeout=WAIT_S), SecretUnavailableError)

"""The retry policy shared by the HTTP model clients (``trio_adk.models._retry``).

Timing is read from trio's ``MockClock`` (pytest-trio's ``autojump_clock``): the delays are
exact in trio time and nothing waits in real time.
"""

from __future__ import annotations

import logging
import random

import pytest
import trio
import trio.testing

from trio_adk.models._retry import RetryPolicy

_log = logging.getLogger("trio_adk.models.test_retry")


def policy(attempts: int = 3, initial: float = 1.0, cap: float = 30.0) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, initial_delay=initial, max_delay=cap,
                       service="The server")


async def wait(p: RetryPolicy, error: BaseException, attempt: int, *, retryable: bool = True,
               asked: float | None = None) -> tuple[bool, float]:
    """Whether the policy retries, and how long it waited in trio time."""
    start = trio.current_time()
    retry = await p.wait_to_retry(error, attempt, retryable=retryable, asked=asked, log=_log,
                                  caller="model-x", reason="503 UNAVAILABLE")
    return retry, trio.current_time() - start


def test_backoff_doubles_up_to_the_cap_with_jitter_between_half_and_all() -> None:
    p = policy(initial=1.0, cap=5.0)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        for _ in range(50):
            assert 0.5 * base <= p.backoff(attempt) <= base


def test_backoff_scales_the_delay_by_the_random_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    factors: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        factors.append((low, high))
        return 0.75

    monkeypatch.setattr(random, "uniform", uniform)
    assert policy(initial=2.0).backoff(3) == 6.0  # 2 s x 2 x 2, x 0.75
    assert factors == [(0.5, 1.0)]


async def test_the_backoff_is_waited_in_trio_time(autojump_clock: trio.testing.MockClock,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    caplog.set_level(logging.INFO, logger=_log.name)
    retry, waited = await wait(policy(initial=1.0), RuntimeError("boom"), 2)
    assert retry
    assert waited == pytest.approx(2.0)
    assert [r.getMessage() for r in caplog.records] == [
        "model-x call failed (503 UNAVAILABLE); retrying in 2.00 s (attempt 3 of 3)."]


@pytest.mark.parametrize("asked", [0.0, 7.0, 30.0])
async def test_a_server_delay_up_to_max_delay_replaces_the_backoff(
        asked: float, autojump_clock: trio.testing.MockClock) -> None:
    error = RuntimeError("slow down")
    retry, waited = await wait(policy(initial=100.0, cap=30.0), error, 1, asked=asked)
    assert retry
    assert waited == pytest.approx(asked)
    assert not getattr(error, "__notes__", [])


async def test_a_server_delay_over_max_delay_is_not_waited_out(
        autojump_clock: trio.testing.MockClock) -> None:
    error = RuntimeError("slow down")
    retry, waited = await wait(policy(cap=30.0), error, 1, asked=120.0)
    assert not retry
    assert waited == 0.0
    assert error.__notes__ == [
        "The server asked to retry after 120 s, longer than retry_max_delay (30 s), so "
        "trio-adk did not wait: call again later, or raise retry_max_delay to let the model "
        "wait that long."]


async def test_a_failure_that_is_not_retryable_is_given_back_at_once(
        autojump_clock: trio.testing.MockClock) -> None:
    error = RuntimeError("bad request")
    retry, waited = await wait(policy(), error, 1, retryable=False, asked=1.0)
    assert not retry
    assert waited == 0.0
    assert not getattr(error, "__notes__", [])


@pytest.mark.parametrize(("attempts", "last"), [(1, 1), (3, 3), (3, 4)])
async def test_no_wait_after_the_last_attempt(attempts: int, last: int,
                                              autojump_clock: trio.testing.MockClock) -> None:
    error = RuntimeError("unavailable")
    retry, waited = await wait(policy(attempts=attempts), error, last, asked=120.0)
    assert not retry
    assert waited == 0.0
    assert not getattr(error, "__notes__", [])  # exhausted: no note about the delay


async def test_a_retry_follows_every_attempt_before_the_last(
        autojump_clock: trio.testing.MockClock) -> None:
    p = policy(attempts=4)
    results = [(await wait(p, RuntimeError("x"), attempt, asked=1.0))[0]
               for attempt in range(1, 5)]
    assert results == [True, True, True, False]


async def test_cancellation_during_the_wait_propagates_and_ends_the_retries(
        autojump_clock: trio.testing.MockClock) -> None:
    """Cancelled while waiting out a 10 s delay: ``trio.Cancelled`` comes out of the wait
    when the deadline passes (5 s in), and no result is returned for another attempt."""
    returned: list[bool] = []
    start = trio.current_time()
    with trio.move_on_after(5.0) as scope:
        returned.append(await policy().wait_to_retry(
            RuntimeError("unavailable"), 1, retryable=True, asked=10.0, log=_log,
            caller="model-x", reason="429"))
    assert scope.cancelled_caught
    assert returned == []
    assert trio.current_time() - start == pytest.approx(5.0)


async def test_an_already_cancelled_caller_does_not_wait(
        autojump_clock: trio.testing.MockClock) -> None:
    returned: list[bool] = []
    start = trio.current_time()
    with trio.CancelScope() as scope:
        scope.cancel()
        returned.append(await policy().wait_to_retry(
            RuntimeError("x"), 1, retryable=True, asked=None, log=_log, caller="model-x",
            reason="x"))
    assert scope.cancelled_caught
    assert returned == []
    assert trio.current_time() == start

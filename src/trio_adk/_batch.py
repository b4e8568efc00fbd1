"""Running many requests concurrently under one nursery."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import attrs
import trio
from google.genai import types

from trio_adk._utils._checks import (
    check_id,
    check_seconds,
    check_state,
    check_user_message,
)
from trio_adk.agents._run_config import RunConfig, check_run_config
from trio_adk.errors import BatchCancelledError
from trio_adk.events._event import Event

if TYPE_CHECKING:
    from trio_adk._runner import Runner


@attrs.frozen(kw_only=True)
class BatchRequest:
    """One conversation turn of a batch."""

    user_id: str
    session_id: str
    new_message: types.Content
    state_delta: dict[str, Any] | None = None


@attrs.define(kw_only=True)
class BatchResult:
    """What one request of a batch produced.

    Attributes:
        request: The request.
        events: Every event the run yielded, in order (also when it failed).
        error: The exception that ended the run, or ``None``.
    """

    request: BatchRequest
    events: list[Event] = attrs.field(factory=list)
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the run completed without error."""
        return self.error is None

    @property
    def final_response(self) -> Event | None:
        """The last final-response event, if any."""
        for event in reversed(self.events):
            if event.is_final_response() and not event.partial:
                return event
        return None

    @property
    def text(self) -> str:
        """The text of the final response ('' when there is none)."""
        event = self.final_response
        if event is None or event.content is None or not event.content.parts:
            return ""
        return "".join(p.text or "" for p in event.content.parts if not p.thought)


def as_request(item: Any, where: str = "request") -> BatchRequest:
    """Accept ``BatchRequest`` objects, tuples ``(user_id, session_id, message)`` or
    dicts with those keys (and ``state_delta``); a plain string message is user text.

    Every field is checked as ``run_async`` checks it; errors name ``where``.
    """
    if isinstance(item, BatchRequest):
        data: dict[str, Any] = attrs.asdict(item, recurse=False)
    elif isinstance(item, tuple | list) and len(item) == 3:
        user_id, session_id, message = item
        data = {"user_id": user_id, "session_id": session_id, "new_message": message}
    elif isinstance(item, dict):
        data = dict(item)
        unknown = set(data) - {"user_id", "session_id", "new_message", "state_delta"}
        if unknown:
            raise TypeError(f"{where} has unknown keys {sorted(unknown)}; a batch request "
                            "has user_id, session_id, new_message and state_delta.")
    else:
        raise TypeError(
            f"{where} must be a BatchRequest, a (user_id, session_id, message) tuple or a "
            f"dict with those keys; got {type(item).__name__} {item!r}.")
    return BatchRequest(
        user_id=check_id(data.get("user_id"), f"{where}.user_id"),
        session_id=check_id(data.get("session_id"), f"{where}.session_id"),
        new_message=check_user_message(data.get("new_message"), f"{where}.new_message"),
        state_delta=check_state(data.get("state_delta"), f"{where}.state_delta"))


@attrs.frozen(kw_only=True)
class Batch:
    """A checked batch: its requests and options."""

    requests: Sequence[BatchRequest]
    max_concurrency: int
    fail_fast: bool
    run_config: RunConfig | None
    run_timeout: float | None


def prepare_batch(requests: Iterable[Any], *, max_concurrency: Any, fail_fast: Any,
                  run_config: Any, run_timeout: Any) -> Batch:
    """Check a batch's requests and options (when ``run_batch*`` is called, before any
    request runs): ``TypeError``/``ValueError`` naming the request and field."""
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise TypeError(f"max_concurrency must be an int, got {max_concurrency!r}.")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}.")
    if not isinstance(fail_fast, bool):
        raise TypeError(f"fail_fast must be True or False, got {fail_fast!r}.")
    check_run_config(run_config)
    if isinstance(requests, str | bytes | dict) or not isinstance(requests, Iterable):
        raise TypeError("requests must be an iterable of batch requests (BatchRequest, "
                        f"tuples or dicts), got {type(requests).__name__}.")
    items = [as_request(item, f"requests[{index}]") for index, item in enumerate(requests)]
    return Batch(requests=items, max_concurrency=max_concurrency, fail_fast=fail_fast,
                 run_config=run_config,
                 run_timeout=check_seconds(run_timeout, "run_timeout", zero=True))


async def run_batch(runner: Runner, batch: Batch) -> list[BatchResult]:
    """Run every request, at most ``max_concurrency`` at once; results in request order."""
    results = [BatchResult(request=r) for r in batch.requests]
    limiter = trio.CapacityLimiter(batch.max_concurrency)
    started = [False] * len(results)
    fail_fast = batch.fail_fast

    async def one(result: BatchResult, slot: object, nursery: trio.Nursery) -> None:
        request = result.request
        try:
            gen = runner.run_async(user_id=request.user_id, session_id=request.session_id,
                                   new_message=request.new_message,
                                   state_delta=request.state_delta,
                                   run_config=batch.run_config, timeout=batch.run_timeout)
            async with aclosing(gen) as events:
                async for event in events:
                    result.events.append(event)
        except Exception as exc:
            result.error = exc
            if fail_fast:
                nursery.cancel_scope.cancel()
        except trio.Cancelled:
            result.error = _cancelled()
            raise
        finally:
            limiter.release_on_behalf_of(slot)

    async with trio.open_nursery() as nursery:
        # Requests start in request order: the limiter is taken here, one at a time.
        for index, result in enumerate(results):
            slot = object()
            await limiter.acquire_on_behalf_of(slot)
            started[index] = True
            nursery.start_soon(one, result, slot, nursery, name="trio_adk.batch-item")
    for index, result in enumerate(results):
        if not started[index]:
            result.error = _cancelled()
    return results


def _cancelled() -> BatchCancelledError:
    return BatchCancelledError(
        "Cancelled because another request of the batch failed (fail_fast=True).")

"""Running many requests concurrently under one nursery."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import attrs
import trio
from google.genai import types

from trio_adk.agents._run_config import RunConfig
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


def as_request(item: Any) -> BatchRequest:
    """Accept ``BatchRequest`` objects, tuples ``(user_id, session_id, message)`` or
    dicts with those keys; a plain string message becomes a user text message."""
    if isinstance(item, BatchRequest):
        return item
    if isinstance(item, tuple | list) and len(item) == 3:
        user_id, session_id, message = item
        data = {"user_id": user_id, "session_id": session_id, "new_message": message}
    elif isinstance(item, dict):
        data = dict(item)
    else:
        raise TypeError(
            f"Batch requests are BatchRequest objects, (user_id, session_id, message) "
            f"tuples or dicts; got {item!r}.")
    message = data.get("new_message")
    if isinstance(message, str):
        data["new_message"] = types.Content(role="user", parts=[types.Part(text=message)])
    return BatchRequest(**data)


async def run_batch(
    runner: Runner,
    requests: Iterable[Any],
    *,
    max_concurrency: int,
    fail_fast: bool,
    run_config: RunConfig | None,
    run_timeout: float | None,
) -> list[BatchResult]:
    """Run every request, at most ``max_concurrency`` at once; results in request order."""
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}.")
    items: Sequence[BatchRequest] = [as_request(r) for r in requests]
    results = [BatchResult(request=r) for r in items]
    limiter = trio.CapacityLimiter(max_concurrency)
    started = [False] * len(results)

    async def one(result: BatchResult, slot: object, nursery: trio.Nursery) -> None:
        request = result.request
        try:
            gen = runner.run_async(user_id=request.user_id, session_id=request.session_id,
                                   new_message=request.new_message,
                                   state_delta=request.state_delta,
                                   run_config=run_config, timeout=run_timeout)
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

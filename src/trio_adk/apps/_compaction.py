"""Event compaction: deciding when to summarize a session's events, and which ones.

ADK 2.13's rules (``App(events_compaction_config=EventsCompactionConfig(...))``):

* Sliding window, after an invocation: once ``compaction_interval`` invocations ended
  after the newest summary's end, summarize from ``overlap_size`` invocations before
  the first of them through the last, so consecutive summaries overlap.
* Token threshold, after an invocation and before each model call: once the newest
  prompt token count (or an estimate from the history) reaches ``token_threshold``,
  summarize everything after the newest summary except the last
  ``event_retention_size`` events; the newest summary is fed to the summarizer first
  so the new summary replaces it.  After an invocation it is tried first; when it
  writes a summary the sliding window is not tried.

Both work on the session's events minus rewound ones.  A window is cut to its longest
prefix that leaves nothing open: a function call without its response, a pending
long-running call, tool confirmation or credential request is never summarized, nor is
anything after it.  (One exception, as in ADK: an ordinary call from an earlier
invocation that nothing ever answered, whose invocation is over, cannot be answered any
more and does not hold the window back.  Long-running calls, confirmations and
credential requests always do, whichever invocation they belong to.)

The two entry points return the compaction event for the caller to append; they never
append it.  A summarizer that fails is logged and leaves the history as it is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from google.genai import types

from trio_adk._usercode._host import await_method
from trio_adk.agents._llm_agent import LlmAgent
from trio_adk.apps._summarizer import BaseEventsSummarizer, LlmEventSummarizer
from trio_adk.events._event import Event
from trio_adk.events._event_actions import EventActions
from trio_adk.events._event_compaction import EventCompaction
from trio_adk.events._rewinds import without_rewound
from trio_adk.flows._contents import (
    AUTH_FUNCTION_NAME,
    CONFIRMATION_FUNCTION_NAME,
    history_contents,
    summary_ranges,
    with_summaries,
)

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.apps._app import EventsCompactionConfig

_log = logging.getLogger("trio_adk")

_CLIENT_FUNCTIONS = frozenset({AUTH_FUNCTION_NAME, CONFIRMATION_FUNCTION_NAME})


async def compaction_after_invocation(ctx: InvocationContext) -> Event | None:
    """The compaction event to append after the invocation of ``ctx`` ended, or ``None``.

    Tries the token threshold first (counting every agent's prompts), then the sliding
    window, over ``ctx.session.events``; does nothing without
    ``ctx.events_compaction_config``.  The event (author ``user``, a fresh invocation
    id, no content, ``actions.compaction`` set) is not appended.

    Cancellable at any ``await`` (only the summarizer awaits); trio.Cancelled
    propagates.  Other summarizer errors are logged with their traceback and give
    ``None``.

    Raises:
        ValueError: the config has no summarizer and the root agent is not an
            ``LlmAgent`` (there is no model to write the summary).
    """
    config = ctx.events_compaction_config
    if config is None:
        return None
    events = without_rewound(ctx.session.events)
    if not events:
        return None
    if config.token_threshold is not None and config.event_retention_size is not None:
        event = await _by_token_threshold(ctx, config, events, agent_name="", branch=None,
                                          fallback=None)
        if event is not None:
            return event
    if config.compaction_interval is None or config.overlap_size is None:
        return None
    window = sliding_window(events, interval=config.compaction_interval,
                            overlap=config.overlap_size)
    if not window or not _worth_summarizing(events, window):
        return None
    return await _summarize(_summarizer(config, ctx, fallback=None), window)


async def compaction_before_model_call(ctx: InvocationContext,
                                       agent: LlmAgent) -> Event | None:
    """The compaction event to append before ``agent``'s next model call, or ``None``.

    Only the token threshold applies here: the newest prompt token count recorded by
    ``agent`` (or an estimate of ``agent``'s history in ``ctx.branch``) is compared with
    ``token_threshold``.  The default summarizer uses the root agent's model, or
    ``agent``'s when the root is not an ``LlmAgent``.  Same contract as
    :func:`compaction_after_invocation`: the event is not appended; cancellable at any
    ``await``; summarizer errors other than cancellation are logged and give ``None``.
    """
    config = ctx.events_compaction_config
    if config is None or config.token_threshold is None or config.event_retention_size is None:
        return None
    events = without_rewound(ctx.session.events)
    if not events:
        return None
    return await _by_token_threshold(ctx, config, events, agent_name=agent.name,
                                     branch=ctx.branch, fallback=agent)


async def _by_token_threshold(ctx: InvocationContext, config: EventsCompactionConfig,
                              events: list[Event], *, agent_name: str, branch: str | None,
                              fallback: LlmAgent | None) -> Event | None:
    assert config.token_threshold is not None and config.event_retention_size is not None
    tokens = prompt_tokens(events, agent_name=agent_name, branch=branch)
    if tokens is None or tokens < config.token_threshold:
        return None
    window = token_window(events, retention=config.event_retention_size)
    if not window or not _worth_summarizing(events, window):
        return None
    return await _summarize(_summarizer(config, ctx, fallback=fallback), window)


def _summarizer(config: EventsCompactionConfig, ctx: InvocationContext, *,
                fallback: LlmAgent | None) -> BaseEventsSummarizer:
    if config.summarizer is not None:
        return config.summarizer
    root = ctx.agent.root_agent
    if isinstance(root, LlmAgent):
        return LlmEventSummarizer(llm=root.canonical_model)
    if fallback is not None:
        return LlmEventSummarizer(llm=fallback.canonical_model)
    raise ValueError(
        f"Event compaction needs a model to write summaries: the root agent "
        f"{root.name!r} is a {type(root).__name__}, not an LlmAgent. Give "
        f"EventsCompactionConfig a summarizer, e.g. "
        f"EventsCompactionConfig(summarizer=LlmEventSummarizer(llm=...), ...).")


async def _summarize(summarizer: BaseEventsSummarizer, window: list[Event]) -> Event | None:
    try:
        event = await await_method(summarizer.maybe_summarize_events, events=window)
    except Exception:
        # The whole history is still there: a failed summary must not fail the run.
        _log.warning("Event compaction failed (%s); the history stays uncompacted.",
                     type(summarizer).__name__, exc_info=True)
        return None
    if event is not None and event.actions.compaction is None:
        _log.warning("Event compaction: %s returned an event without "
                     "actions.compaction; ignored.", type(summarizer).__name__)
        return None
    return event


# -- which events ---------------------------------------------------------------------


def _call_ids(event: Event) -> set[str]:
    return {c.id for c in event.get_function_calls() if c.id}


def _response_ids(event: Event) -> set[str]:
    return {r.id for r in event.get_function_responses() if r.id}


def _opened(event: Event) -> set[str]:
    """Ids an event leaves waiting for an answer: its function calls, and the calls its
    confirmation and credential requests are about."""
    opened = _call_ids(event)
    opened.update(event.actions.requested_tool_confirmations)
    opened.update(event.actions.requested_auth_configs)
    return opened


def _answered(event: Event) -> set[str]:
    """Ids an event's responses settle (a response that asks for a confirmation or a
    credential settles nothing)."""
    return (_response_ids(event) - set(event.actions.requested_tool_confirmations)
            - set(event.actions.requested_auth_configs))


def self_contained_prefix(window: Sequence[Event], session: Sequence[Event]) -> list[Event]:
    """The longest prefix of ``window`` that leaves nothing open (see the module doc).

    ``session`` is every event of the session (rewound ones left out), used to tell an
    abandoned ordinary call from one that may still be answered.
    """

    def safe_length(ignored: set[str]) -> int:
        waiting: set[str] = set()
        length = 0
        for index, event in enumerate(window):
            waiting -= _response_ids(event)
            waiting |= _opened(event) - ignored
            if not waiting:
                length = index + 1
        return length

    length = safe_length(set())
    if length == len(window):
        return list(window)
    if length and window[length - 1].invocation_id != window[length].invocation_id:
        return list(window[:length])
    abandoned = _abandoned_calls(window, session)
    if abandoned:
        length = max(length, safe_length(abandoned))
    return list(window[:length])


def _abandoned_calls(window: Sequence[Event], session: Sequence[Event]) -> set[str]:
    """Ordinary function calls in ``window`` that can never be answered: not from the
    session's newest invocation, never answered anywhere in the session, and not
    long-running, a confirmation or credential request, or the call one is about."""
    newest = next((e.invocation_id for e in reversed(session)
                   if e.invocation_id and e.actions.compaction is None), None)
    kept_open: set[str] = set()
    answered: set[str] = set()
    for event in session:
        kept_open |= event.long_running_tool_ids or set()
        kept_open.update(event.actions.requested_tool_confirmations)
        kept_open.update(event.actions.requested_auth_configs)
        kept_open |= {c.id for c in event.get_function_calls()
                      if c.id and c.name in _CLIENT_FUNCTIONS}
        answered |= _answered(event)
    abandoned: set[str] = set()
    for event in window:
        if newest is not None and event.invocation_id == newest:
            continue
        abandoned |= _call_ids(event) - kept_open - answered
    return abandoned


def sliding_window(events: Sequence[Event], *, interval: int, overlap: int) -> list[Event]:
    """The events the sliding window summarizes now (empty: none), from ``events`` (a
    session's events, rewound ones left out)."""
    last_end = 0.0
    for event in reversed(events):
        compaction = event.actions.compaction
        if compaction is not None and compaction.end_timestamp:
            last_end = compaction.end_timestamp
            break
    ends: dict[str, float] = {}  # invocation id -> its newest event's timestamp
    for event in events:
        if event.invocation_id and event.actions.compaction is None:
            ends[event.invocation_id] = max(ends.get(event.invocation_id, 0.0),
                                            event.timestamp)
    invocations = list(ends)
    new = [i for i in invocations if ends[i] > last_end]
    if len(new) < interval:
        return []
    first = invocations[max(0, invocations.index(new[0]) - overlap)]
    start = next(i for i, e in enumerate(events) if e.invocation_id == first)
    stop = max(i for i, e in enumerate(events) if e.invocation_id == new[-1])
    window = [e for e in events[start:stop + 1] if e.actions.compaction is None]
    return self_contained_prefix(window, events)


def token_window(events: Sequence[Event], *, retention: int) -> list[Event]:
    """The events token-threshold compaction summarizes now (empty: none): those after
    the newest summary minus the last ``retention`` (fewer kept when a kept response's
    call would be summarized), cut to a self-contained prefix, and led by the newest
    summary itself (as a ``model`` event at its start timestamp) so the new summary
    covers it."""
    ranges = summary_ranges(events)
    previous = events[ranges[-1][0]].actions.compaction if ranges else None
    last_end = previous.end_timestamp if previous is not None else 0.0
    candidates = [e for e in events
                  if e.actions.compaction is None and e.timestamp > last_end]
    if len(candidates) <= retention:
        return []
    split = len(candidates) if retention == 0 else _retention_split(candidates, retention)
    window = self_contained_prefix(candidates[:split], events)
    if not window:
        return []
    if previous is not None:
        source = events[ranges[-1][0]]
        seed = Event(author="model", invocation_id=Event.new_id(), branch=source.branch,
                     timestamp=previous.start_timestamp,
                     content=previous.compacted_content)
        return [seed, *window]
    return window


def _retention_split(candidates: Sequence[Event], retention: int) -> int:
    """Where the summarized part of ``candidates`` ends: at most
    ``len(candidates) - retention``, moved earlier until every response kept has its
    call kept too."""
    limit = len(candidates) - retention
    if limit <= 0:
        return 0
    unmatched: set[str] = set()
    for index in range(len(candidates) - 1, -1, -1):
        unmatched |= _response_ids(candidates[index])
        unmatched -= _call_ids(candidates[index])
        if not unmatched and index <= limit:
            return index
    return 0


# -- how big ------------------------------------------------------------------------


def prompt_tokens(events: Sequence[Event], *, agent_name: str,
                  branch: str | None) -> int | None:
    """The newest prompt token count recorded since the newest summary (by
    ``agent_name``'s model calls when it is not empty), else an estimate of
    ``agent_name``'s history (4 characters a token), ``None`` for an empty one."""
    for event in reversed(events):
        if event.actions.compaction is not None:
            break
        usage = event.usage_metadata
        if (usage is not None and usage.prompt_token_count is not None
                and (not agent_name or event.author == agent_name)):
            return usage.prompt_token_count
    contents = history_contents(events, branch=branch, agent_name=agent_name,
                                include="default")
    chars = sum(_content_chars(c) for c in contents)
    return chars // 4 if chars > 0 else None


def _content_chars(content: types.Content) -> int:
    total = 0
    for part in content.parts or ():
        total += len(part.text or "")
        if part.function_call is not None:
            total += len(part.function_call.name or "")
            total += len(_json(part.function_call.args)) if part.function_call.args else 0
        if part.function_response is not None:
            response = part.function_response
            total += len(response.name or "")
            total += len(_json(response.response)) if response.response else 0
    return total


def _json(value: object) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _request_chars(events: Sequence[Event]) -> int:
    """Size of the history ``events`` make (summaries applied), in JSON characters."""
    return sum(len(e.content.model_dump_json(exclude_none=True, fallback=str))
               for e in with_summaries(events, "") if e.content is not None)


def _worth_summarizing(events: list[Event], window: list[Event]) -> bool:
    """Whether summarizing ``window`` can shrink the history: what an empty summary of
    it would save must exceed the newest summary's size (the best guess of what the
    new summary will cost), checked before paying for the summary."""
    timestamps = [e.timestamp for e in window]
    empty = Event(author="model", invocation_id=Event.new_id(), actions=EventActions(
        compaction=EventCompaction(start_timestamp=min(timestamps),
                                   end_timestamp=max(timestamps),
                                   compacted_content=types.Content(role="model",
                                                                   parts=[]))))
    saved = _request_chars(events) - _request_chars([*events, empty])
    ranges = summary_ranges(events)
    previous = events[ranges[-1][0]].actions.compaction if ranges else None
    cost = (len(previous.compacted_content.model_dump_json(exclude_none=True, fallback=str))
            if previous is not None else 0)
    return saved > cost

"""Building the conversation history (``contents``) an agent sends to its model."""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk.events._event import Event
from trio_adk.events._rewinds import without_rewound

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext

AUTH_FUNCTION_NAME = "adk_request_credential"
CONFIRMATION_FUNCTION_NAME = "adk_request_confirmation"
_CLIENT_FUNCTIONS = frozenset({AUTH_FUNCTION_NAME, CONFIRMATION_FUNCTION_NAME})
CLIENT_ID_PREFIX = "adk-"


def build_contents(ctx: InvocationContext, agent_name: str, *, include: str) -> list[types.Content]:
    """The history for ``agent_name``'s next model call.

    Leaves out rewound events (see :func:`~trio_adk.events._rewinds.without_rewound`)
    and the events a compaction summary covers (the summary is sent in their place, see
    :func:`with_summaries`).  Keeps events with content in the agent's branch, rewrites
    other agents' turns as user-role "For context:" text, puts each function response
    right after its call, and strips client-assigned call ids.  Session events are
    never modified: every returned Content and its ``parts`` list are fresh objects, so
    callbacks may add, remove or replace parts freely.  Part objects without function
    calls or responses are shared with the session: replace a part rather than editing
    it in place.
    """
    return history_contents(ctx.session.events, branch=ctx.branch, agent_name=agent_name,
                            include=include)


def history_contents(events: Sequence[Event], *, branch: str | None, agent_name: str,
                     include: str) -> list[types.Content]:
    """:func:`build_contents` over ``events`` for an agent in ``branch``; with an empty
    ``agent_name`` no turn is rewritten as another agent's."""
    return contents_of(kept_events(events, branch=branch, agent_name=agent_name)[0],
                       agent_name=agent_name, include=include)


def kept_events(events: Sequence[Event], *, branch: str | None,
                agent_name: str) -> tuple[list[Event], float]:
    """The events of ``events`` that go into an agent's history, in order: rewinds
    applied, compaction summaries in place of what they cover, other branches' and
    client-request events left out.  Also the latest end of a summary range applied
    (``-inf`` without summaries)."""
    if any(e.actions.compaction is not None or e.actions.rewind_before_invocation_id
           for e in events):
        events = without_rewound(events)
    kept: list[Event] = []
    summaries = False
    for event in events:
        if event.actions.compaction is not None:
            if not (branch and event.branch and not _in_branch(branch, event.branch)):
                kept.append(event)
                summaries = True
            continue
        if keeps(event, branch):
            kept.append(event)
    if not summaries:
        return kept, -math.inf
    latest_end = max(e.actions.compaction.end_timestamp for e in kept
                     if e.actions.compaction is not None)
    return recover_compacted_calls(with_summaries(kept, agent_name), kept), latest_end


def keeps(event: Event, branch: str | None) -> bool:
    """Whether an ordinary event (not a compaction or rewind) goes into the history of an
    agent in ``branch``."""
    content = event.content
    if content is None or not content.role or not content.parts:
        return False
    if content.parts[0].text == "" and len(content.parts) == 1:
        return False
    if branch and event.branch and not _in_branch(branch, event.branch):
        return False
    return not _is_client_request_event(event)


def contents_of(kept: list[Event], *, agent_name: str, include: str) -> list[types.Content]:
    """The model contents of ``kept`` (see :func:`kept_events`) for ``agent_name``."""
    if include == "none":
        kept = _current_turn(kept, agent_name)
    kept = _pair_function_responses(_resume_at_latest_response(kept))
    return [convert(event, agent_name) for event in kept]


def convert(event: Event, agent_name: str) -> types.Content:
    """One history event as ``agent_name``'s model sees it: its own and the user's turns
    copied (client call ids stripped), other agents' turns told as context."""
    if agent_name and event.author not in (agent_name, "user"):
        return _as_context(event)
    return _clean_copy(event.content)  # type: ignore[arg-type]


def resumes_at_latest(kept: list[Event]) -> bool:
    """True when the newest of ``kept`` answers calls made before the event just before
    it (the history then resumes right after those calls; see ``contents_of``)."""
    return _resume_at_latest_response(kept) is not kept


def summary_ranges(events: Sequence[Event]) -> list[tuple[int, float, float]]:
    """``(index, start, end)`` of the compaction events of ``events`` that count, in
    event order: a summary whose range lies inside another's is superseded by it (of two
    with the same range, the later counts).  Ranges that merely overlap both count.
    """
    found: list[tuple[int, float, float]] = []
    for index, event in enumerate(events):
        compaction = event.actions.compaction
        if compaction is not None:
            found.append((index, compaction.start_timestamp, compaction.end_timestamp))
    counted = {i for i, start, end in found if math.isnan(start) or math.isnan(end)}
    # Widest first among equal starts (latest first among equal ranges): a range is
    # inside an earlier-sorted one exactly when it does not reach past the furthest end.
    furthest = -math.inf
    for index, _, end in sorted((r for r in found if r[0] not in counted),
                                key=lambda r: (r[1], -r[2], -r[0])):
        if end > furthest:
            counted.add(index)
            furthest = end
    return [r for r in found if r[0] in counted]


def with_summaries(events: Sequence[Event], agent_name: str) -> list[Event]:
    """``events`` with compaction applied: every event whose timestamp lies in the range
    of a counting summary (see :func:`summary_ranges`) is left out, and each counting
    summary appears as an event of ``agent_name`` (``'model'`` if empty) holding the
    summary, at its range's end timestamp.  Compaction events that do not count are
    dropped.  Order is by timestamp, then by position in ``events``.
    """
    ranges = summary_ranges(events)
    covered: list[tuple[float, float]] = []
    for _, start, end in sorted((r for r in ranges if r[1] <= r[2]),
                                key=lambda r: (r[1], r[2])):
        if covered and start <= covered[-1][1]:
            covered[-1] = (covered[-1][0], max(covered[-1][1], end))
        else:
            covered.append((start, end))
    starts = [start for start, _ in covered]

    def is_covered(timestamp: float) -> bool:
        at = bisect.bisect_right(starts, timestamp) - 1
        return at >= 0 and timestamp <= covered[at][1]

    placed: list[tuple[float, int, Event]] = []
    for index, _, end in ranges:
        summary = events[index]
        assert summary.actions.compaction is not None
        placed.append((end, index, Event(
            author=agent_name or "model", invocation_id=summary.invocation_id,
            branch=summary.branch, timestamp=end, actions=summary.actions,
            content=summary.actions.compaction.compacted_content)))
    for index, event in enumerate(events):
        if event.actions.compaction is None and not is_covered(event.timestamp):
            placed.append((event.timestamp, index, event))
    placed.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in placed]


def recover_compacted_calls(events: list[Event], source: Sequence[Event]) -> list[Event]:
    """``events`` (built by :func:`with_summaries` from ``source``) with every function
    call event a summary covered put back right before the first surviving response to
    it (a long-running tool answered after its call was summarized), together with the
    covered responses to that event's other calls, so no response is left without its
    call.  A response answers the latest call with its id before it in ``source``.
    """
    if not any(e.get_function_responses() for e in events):
        return events
    present = {id(e) for e in events}
    latest_call: dict[str, Event] = {}
    answered_call: dict[tuple[int, str], Event] = {}  # (response event, id) -> call event
    newest_answer: dict[tuple[int, str], Event] = {}  # (call event, id) -> response event
    surviving: set[tuple[int, str]] = set()  # (call event, id) answered by a kept event
    for event in source:
        for call in event.get_function_calls():
            if call.id:
                latest_call[call.id] = event
        for response in event.get_function_responses():
            call_event = latest_call.get(response.id or "")
            if call_event is None or not response.id:
                continue
            answered_call[id(event), response.id] = call_event
            key = (id(call_event), response.id)
            if id(event) in present:
                surviving.add(key)
            previous = newest_answer.get(key)
            if previous is None or event.timestamp >= previous.timestamp:
                newest_answer[key] = event
    result: list[Event] = []
    restored: set[int] = set()
    for event in events:
        for response in event.get_function_responses():
            call_event = answered_call.get((id(event), response.id or ""))
            if call_event is None or id(call_event) in present or id(call_event) in restored:
                continue
            result.append(call_event)
            restored.add(id(call_event))
            for sibling in call_event.get_function_calls():
                key = (id(call_event), sibling.id or "")
                answer = newest_answer.get(key)
                if (sibling.id and key not in surviving and answer is not None
                        and id(answer) not in restored):
                    result.append(answer)
                    restored.add(id(answer))
        result.append(event)
    return result if restored else events


def _in_branch(current: str, event_branch: str) -> bool:
    return current == event_branch or current.startswith(event_branch + ".")


def _is_client_request_event(event: Event) -> bool:
    """A request to the client (credentials, confirmation) or its answer: never sent to
    the model."""
    content = event.content
    assert content is not None and content.parts is not None
    for part in content.parts:
        if part.function_call is not None and part.function_call.name in _CLIENT_FUNCTIONS:
            return True
        if (part.function_response is not None
                and part.function_response.name in _CLIENT_FUNCTIONS):
            return True
    return False


def _current_turn(events: list[Event], agent_name: str) -> list[Event]:
    """Events from the latest user message or other agent's turn onward."""
    for index in range(len(events) - 1, -1, -1):
        author = events[index].author
        if author == "user" or author != agent_name:
            return events[index:]
    return events


def _response_ids(event: Event) -> set[str]:
    return {r.id for r in event.get_function_responses() if r.id}


def _resume_at_latest_response(events: list[Event]) -> list[Event]:
    """When the newest event answers calls made earlier (a long-running tool's final
    result sent later), the history resumes right after those calls: the events in
    between (the model's interim "waiting" turn) are dropped, except responses to the
    same calls, which are merged with the newest (the newest wins), as ADK does.
    """
    if len(events) < 2:
        return events
    latest = events[-1]
    ids = _response_ids(latest)
    if not ids or ids & {c.id for c in events[-2].get_function_calls()}:
        return events
    for index in range(len(events) - 2, -1, -1):
        call_ids = {c.id for c in events[index].get_function_calls() if c.id}
        if not ids & call_ids:
            continue
        merged: dict[str, types.Part] = {}
        for event in [*events[index + 1:-1], latest]:
            for part in (event.content.parts if event.content else None) or ():
                response = part.function_response
                if response is not None and response.id in call_ids:
                    merged.pop(response.id or "", None)
                    merged[response.id or ""] = part
        resumed = Event(invocation_id=latest.invocation_id, author=latest.author,
                        branch=latest.branch, timestamp=latest.timestamp,
                        content=types.Content(role="user", parts=list(merged.values())))
        return [*events[:index + 1], resumed]
    return events


def _pair_function_responses(events: list[Event]) -> list[Event]:
    """Place every function response right after the event holding its call.

    Responses that arrive later (long-running tools) are merged into one event placed
    after the call; a response whose call is not in the history is kept where it is.
    """
    if not any(e.get_function_responses() for e in events):
        return events
    call_index: dict[str, int] = {}
    for index, event in enumerate(events):
        for call in event.get_function_calls():
            if call.id:
                call_index[call.id] = index
    responses_for: dict[int, list[types.Part]] = {}
    response_author: dict[int, Event] = {}
    result_slots: list[Event | None] = []
    for event in events:
        ids = _response_ids(event)
        if ids and all(i in call_index for i in ids):
            target = call_index[next(iter(ids))]
            parts = responses_for.setdefault(target, [])
            assert event.content is not None and event.content.parts is not None
            for part in event.content.parts:
                if part.function_response is None:
                    continue
                # A later response for the same call replaces an earlier one.
                parts[:] = [p for p in parts if p.function_response is None
                            or p.function_response.id != part.function_response.id]
                parts.append(part)
            response_author.setdefault(target, event)
            result_slots.append(None)
        else:
            result_slots.append(event)
    ordered: list[Event] = []
    for index, slot in enumerate(result_slots):
        if slot is None:
            continue
        ordered.append(slot)
        if index in responses_for:
            template = response_author[index]
            ordered.append(Event(
                invocation_id=template.invocation_id, author=template.author,
                branch=template.branch, timestamp=template.timestamp,
                content=types.Content(role="user", parts=responses_for[index]),
            ))
    return ordered


def _strip_id(value: str | None) -> str | None:
    if value is not None and value.startswith(CLIENT_ID_PREFIX):
        return None
    return value


def _copy_part(part: types.Part) -> types.Part:
    if part.function_call is None and part.function_response is None:
        return part
    new = part.model_copy()
    if part.function_call is not None:
        call = part.function_call.model_copy()
        call.id = _strip_id(call.id)
        new.function_call = call
    if part.function_response is not None:
        response = part.function_response.model_copy()
        response.id = _strip_id(response.id)
        new.function_response = response
    return new


def _clean_copy(content: types.Content) -> types.Content:
    parts = [_copy_part(p) for p in content.parts or ()]
    return types.Content.model_construct(role=content.role, parts=parts)


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _as_context(event: Event) -> types.Content:
    """Another agent's turn, told to this agent as user-role context."""
    assert event.content is not None and event.content.parts is not None
    parts = [types.Part(text="For context:")]
    for part in event.content.parts:
        if part.thought:
            continue
        if part.text:
            parts.append(types.Part(text=f"[{event.author}] said: {part.text}"))
        elif part.function_call is not None:
            call = part.function_call
            parts.append(types.Part(
                text=f"[{event.author}] called tool `{call.name}` with parameters: "
                     f"{_dumps(call.args)}"))
        elif part.function_response is not None:
            response = part.function_response
            parts.append(types.Part(
                text=f"[{event.author}] `{response.name}` tool returned result: "
                     f"{_dumps(response.response)}"))
        else:
            parts.append(part.model_copy())
    return types.Content(role="user", parts=parts)

"""Building the conversation history (``contents``) an agent sends to its model."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk.events._event import Event

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext

AUTH_FUNCTION_NAME = "adk_request_credential"
CONFIRMATION_FUNCTION_NAME = "adk_request_confirmation"
_CLIENT_FUNCTIONS = frozenset({AUTH_FUNCTION_NAME, CONFIRMATION_FUNCTION_NAME})
CLIENT_ID_PREFIX = "adk-"


def build_contents(ctx: InvocationContext, agent_name: str, *, include: str) -> list[types.Content]:
    """The history for ``agent_name``'s next model call.

    Keeps events with content in the agent's branch, rewrites other agents' turns as
    user-role "For context:" text, puts each function response right after its call,
    and strips client-assigned call ids.  Session events are never modified: every
    returned Content and its ``parts`` list are fresh objects, so callbacks may add,
    remove or replace parts freely.  Part objects without function calls or responses
    are shared with the session: replace a part rather than editing it in place.
    """
    events = ctx.session.events
    branch = ctx.branch
    kept: list[Event] = []
    for event in events:
        content = event.content
        if content is None or not content.role or not content.parts:
            continue
        if content.parts[0].text == "" and len(content.parts) == 1:
            continue
        if branch and event.branch and not _in_branch(branch, event.branch):
            continue
        if _is_client_request_event(event):
            continue
        kept.append(event)
    if include == "none":
        kept = _current_turn(kept, agent_name)
    kept = _pair_function_responses(_resume_at_latest_response(kept))
    result: list[types.Content] = []
    for event in kept:
        if event.author not in (agent_name, "user"):
            result.append(_as_context(event))
        else:
            result.append(_clean_copy(event.content))  # type: ignore[arg-type]
    return result


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

"""Which invocation a run continues: resuming by function response or by invocation id.

A run normally starts a new invocation.  It continues an earlier one when its message
answers that invocation's function calls (a long-running tool's result, a tool
confirmation), or when the caller names the invocation (``invocation_id=``).  What is
decided here, from the session's stored events only (so another process may have
started the invocation), is the invocation's id, the user content it runs with, and
whether the new message is stored.  Where the agent continues is the flow's business
(``flows/_resume.py``).
"""

from __future__ import annotations

import logging

import attrs
from google.genai import types

from trio_adk.agents._base_agent import BaseAgent
from trio_adk.agents._invocation_context import new_invocation_context_id
from trio_adk.events._event import Event
from trio_adk.events._rewinds import without_rewound

_log = logging.getLogger("trio_adk")


def check_resume_message(message: types.Content, what: str,
                         invocation_id: str | None) -> types.Content:
    """Check the function responses of a run's message (when the run is asked for).

    Raises:
        ValueError: the message mixes function responses with text (responses resume
            an invocation, text starts one); or ``invocation_id`` is given and a
            function response has no id.
    """
    parts = message.parts or ()
    responses = [p.function_response for p in parts if p.function_response is not None]
    if not responses:
        return message
    if any(p.text for p in parts):
        raise ValueError(
            f"{what} cannot contain both function responses and text: function responses "
            "resume an existing invocation while text starts a new one. Send them as two "
            "messages (two runs).")
    if invocation_id is not None and any(not r.id for r in responses):
        raise ValueError(
            "Function response id is required to resume an invocation: give each "
            "function_response the id of the function call it answers.")
    return message


@attrs.frozen
class Resolution:
    """What a run does with its invocation.

    Attributes:
        invocation_id: The invocation the run continues or starts.
        resumed: True when the session already holds events of that invocation.
        user_content: The invocation's user message (the original one when resumed).
        store_message: Whether the run's message is appended as the user event.
    """

    invocation_id: str
    resumed: bool
    user_content: types.Content | None
    store_message: bool


def resolve_invocation(events: list[Event], message: types.Content | None,
                       invocation_id: str | None, session_id: str) -> Resolution:
    """Decide which invocation a run continues, from the session's ``events``.

    Function responses with ids resume the invocation that made those calls (the
    caller's ``invocation_id``, if different, is overruled with a warning).  Otherwise
    ``invocation_id`` names the invocation: without a message it must exist; with a text
    message it is retried with its original message when it exists, else started anew
    under that id.

    Raises:
        ValueError: a function response answers no call in the session; the responses
            answer calls of different invocations; ``invocation_id`` without a message
            names no invocation of the session.
    """
    answered = _answered_call_ids(message)
    if not answered and invocation_id is None:  # the common case: a new invocation
        return Resolution(new_invocation_context_id(), False, message, store_message=True)
    live = without_rewound(events)
    if answered:
        resolved = _invocation_of_calls(live, answered)
        if invocation_id is not None and invocation_id != resolved:
            _log.warning(
                "invocation_id %s is ignored: the message's function responses answer "
                "calls of invocation %s, which resumes.", invocation_id, resolved)
        return Resolution(resolved, True, _original_user_content(live, resolved) or message,
                          store_message=True)
    assert invocation_id is not None
    if not any(e.invocation_id == invocation_id for e in live):
        if message is None:
            raise ValueError(
                f"No invocation {invocation_id!r} in session {session_id!r}: there is "
                "nothing to resume. Check the id (Event.invocation_id of the paused "
                "invocation's events), or send a new_message to start an invocation.")
        return Resolution(invocation_id, False, message, store_message=True)
    original = _original_user_content(live, invocation_id)
    if message is None or original is not None:
        # Resume, or retry with the invocation's own message (the new one not stored).
        return Resolution(invocation_id, True, original, store_message=False)
    return Resolution(invocation_id, True, message, store_message=True)


def _answered_call_ids(message: types.Content | None) -> set[str]:
    if message is None or not message.parts:
        return set()
    return {p.function_response.id for p in message.parts
            if p.function_response is not None and p.function_response.id}


def _invocation_of_calls(events: list[Event], call_ids: set[str]) -> str:
    owners: dict[str, str] = {}
    for event in reversed(events):
        content = event.content
        if content is None or not content.parts:
            continue
        for part in content.parts:
            call = part.function_call
            if call is not None and call.id in call_ids and call.id not in owners:
                owners[call.id] = event.invocation_id
        if len(owners) == len(call_ids):
            break
    missing = call_ids - owners.keys()
    if missing:
        raise ValueError(
            f"Function call not found for function response ids: {sorted(missing)}. "
            "Each function response must answer a function call of this session, with "
            "the call's id (the id of the long-running call or of the "
            "adk_request_confirmation call).")
    invocations = set(owners.values())
    if len(invocations) > 1:
        raise ValueError(
            f"Function responses resolve to multiple invocations: {sorted(invocations)}. "
            "All function responses in a single message must belong to the same "
            "invocation: answer each invocation's calls in its own message.")
    return invocations.pop()


def _original_user_content(events: list[Event], invocation_id: str) -> types.Content | None:
    """The user message an invocation started with: its first user event holding more
    than function responses."""
    for event in events:
        if event.invocation_id != invocation_id or event.author != "user":
            continue
        content = event.content
        if content is not None and content.parts and any(
                p.function_response is None for p in content.parts):
            return content
    return None


def resume_agent(events: list[Event], invocation_id: str,
                 root: BaseAgent) -> tuple[BaseAgent | None, tuple[str, ...]]:
    """The agent a resumed invocation continues with, and the names from the root down
    to the agent that was running when it stopped (the author of its newest agent
    event, or the agent that event handed over to).

    An agent under a workflow agent (Sequential, Parallel, Loop) is reached through its
    workflow ancestors, so the top one is returned and the path tells each where to
    start; otherwise the agent itself (as a transfer would reach it).  ``(None, ())``
    when the invocation has no agent event.
    """
    for event in reversed(events):
        if event.invocation_id != invocation_id or event.author == "user":
            continue
        agent = None
        target = event.actions.transfer_to_agent
        if target:
            agent = root.find_agent(target)
        if agent is None:
            agent = root.find_agent(event.author)
        if agent is None:
            continue
        chain = [agent]
        while chain[-1].parent_agent is not None:
            chain.append(chain[-1].parent_agent)
        chain.reverse()
        path = tuple(a.name for a in chain)
        top = next((a for a in chain if _is_workflow(a)), None)
        return (top or agent), path
    return None, ()


def _is_workflow(agent: BaseAgent) -> bool:
    from trio_adk.agents._workflow_agents import LoopAgent, ParallelAgent, SequentialAgent

    return isinstance(agent, SequentialAgent | ParallelAgent | LoopAgent)

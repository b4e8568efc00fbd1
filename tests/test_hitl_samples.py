"""Human in the loop as ADK's samples do it, in our own small agents.

Two flows, each the pattern of a published ADK sample:

- an expense clerk with a ``LongRunningFunctionTool`` that answers "pending" with a ticket;
  the client later sends the tool's final response for the same call id (the pattern of
  ADK's ``contributing/samples/human_in_loop``);
- a truck dispatcher in a resumable ``App`` whose tool asks for confirmation itself
  (``tool_context.request_confirmation``) above two trucks; the client answers the
  ``adk_request_confirmation`` call and resumes with ``invocation_id=`` (the pattern of the
  Kaggle 5-day course's shipping coordinator), approved and rejected.

The expected events were written down from google-adk 2.13 running these same agents
against the fake Gemini server with a model that answers from the request as
:func:`answer` does (ids, timestamps and invocation ids left out, and ADK's ``node_info``
and the empty ``long_running_tool_ids`` it puts on plain call events; ``inv`` numbers the
invocations in order of appearance and ``<idN>`` the call ids in order of appearance).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from google.genai import types

from helpers import USER, collect, user_text
from trio_adk import Agent, Runner
from trio_adk.apps import App, ResumabilityConfig
from trio_adk.events import Event
from trio_adk.models import LlmRequest
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import FunctionModel, function_call
from trio_adk.tools import LongRunningFunctionTool, ToolContext

CONFIRM = "adk_request_confirmation"

# ---- the agents' tools ----------------------------------------------------------------

RAN: list[tuple[str, Any]] = []


def pay_out(item: str, amount: float) -> dict[str, Any]:
    """Pay an expense out to the employee."""
    RAN.append(("pay_out", amount))
    return {"paid": amount, "item": item}


def request_sign_off(item: str, amount: float) -> dict[str, Any]:
    """Ask finance to sign an expense off; the answer comes later."""
    RAN.append(("request_sign_off", amount))
    return {"status": "pending", "ticket": "T-7"}


def reserve_trucks(count: int, city: str, tool_context: ToolContext) -> dict[str, Any]:
    """Reserve trucks; more than two need a dispatcher's approval."""
    confirmation = tool_context.tool_confirmation
    RAN.append(("reserve_trucks", None if confirmation is None else confirmation.confirmed))
    if count <= 2:
        return {"status": "booked", "ref": f"R-{count}"}
    if confirmation is None:
        tool_context.request_confirmation(hint=f"Book {count} trucks to {city}?",
                                          payload={"count": count})
        return {"status": "waiting"}
    if confirmation.confirmed:
        return {"status": "booked", "ref": f"R-{count}-OK"}
    return {"status": "declined"}


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()


# ---- the model: answers from the request, as the fake Gemini did for google-adk --------


def _last_call_args(request: LlmRequest, name: str) -> dict[str, Any]:
    for content in reversed(request.contents):
        for part in content.parts or []:
            if part.function_call is not None and part.function_call.name == name:
                return dict(part.function_call.args or {})
    raise AssertionError(f"no {name} call in the request")


def answer(request: LlmRequest) -> Any:
    """Call the tool the user asks for; after a tool's answer, say what it answered (or,
    once the sign-off is approved, pay the expense out)."""
    parts = request.contents[-1].parts or []
    responses = [p.function_response for p in parts if p.function_response is not None]
    if not responses:
        text = "".join(p.text or "" for p in parts)
        if found := re.search(r"expense (\d+) for (\w+)", text):
            amount, item = float(found[1]), found[2]
            name = "pay_out" if amount < 100 else "request_sign_off"
            return function_call(name, {"item": item, "amount": amount})
        if found := re.search(r"Reserve (\d+) trucks to (\w+)", text):
            return function_call("reserve_trucks", {"count": int(found[1]), "city": found[2]})
        raise AssertionError(f"unexpected user text {text!r}")
    said = []
    for response in responses:
        result = response.response or {}
        if response.name == "pay_out":
            said.append(f"Paid {result['paid']} for {result['item']}.")
        elif response.name == "request_sign_off" and result.get("status") == "approved":
            return function_call("pay_out", _last_call_args(request, "request_sign_off"))
        elif response.name == "request_sign_off":
            said.append(f"Expense is {result['status']} (ticket {result['ticket']}).")
        elif response.name == "reserve_trucks":
            said.append(f"Trucks: {result['status']} {result.get('ref', '')}".strip() + ".")
        else:
            raise AssertionError(f"unexpected response {response}")
    return " ".join(said)


# ---- comparing with ADK's events --------------------------------------------------------

_DROPPED = ("id", "timestamp", "invocation_id", "finish_reason", "usage_metadata",
            "model_version")


class Shapes:
    """Events as ADK's ``model_dump(mode="json", exclude_none=True)`` shows them, with per-run
    values replaced: invocation ids by ``inv0, inv1, ...`` and call ids by ``<id1>, ...``, in
    order of appearance across every event shaped by this instance."""

    def __init__(self) -> None:
        self.invocations: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    def __call__(self, events: list[Event]) -> list[dict[str, Any]]:
        shaped = []
        for event in events:
            data = event.model_dump(mode="json", exclude_none=True)
            inv = self.invocations.setdefault(event.invocation_id,
                                              f"inv{len(self.invocations)}")
            for key in _DROPPED:
                data.pop(key, None)
            text = json.dumps(data, sort_keys=True)
            for found in re.findall(r"adk-[0-9a-f-]{36}", text):
                self.ids.setdefault(found, f"<id{len(self.ids) + 1}>")
            for real, placeholder in self.ids.items():
                text = text.replace(real, placeholder)
            shaped.append({"inv": inv, **json.loads(text)})
        return shaped


_NO_ACTIONS: dict[str, Any] = {"artifact_delta": {}, "requested_auth_configs": {},
               "requested_tool_confirmations": {}, "state_delta": {}}


def ev(author: str, inv: str, *parts: dict[str, Any], role: str | None = None,
       requested: dict[str, Any] | None = None, long_running: list[str] | None = None,
       end_of_agent: bool = False) -> dict[str, Any]:
    """One event as ADK 2.13 dumped it."""
    actions: dict[str, Any] = {**_NO_ACTIONS, "requested_tool_confirmations": requested or {}}
    if end_of_agent:
        actions["end_of_agent"] = True
    event: dict[str, Any] = {"actions": actions, "author": author, "inv": inv}
    if parts:
        event["content"] = {"parts": list(parts),
                            "role": role or ("user" if author == "user" or "function_response"
                                             in parts[0] else "model")}
    if long_running is not None:
        event["long_running_tool_ids"] = long_running
    return event


def call(id_: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"function_call": {"args": args, "id": id_, "name": name}}


def resp(id_: str, name: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"function_response": {"id": id_, "name": name, "response": response}}


def say(text: str) -> dict[str, Any]:
    return {"text": text}


# ---- flow 1: a long-running approval answered later by the client -----------------------

LUNCH = {"amount": 40.0, "item": "lunch"}
FLIGHT = {"amount": 300.0, "item": "flight"}
APPROVED = {"status": "approved", "ticket": "T-7"}

ADK_LONG_RUNNING_RUNS = [
    [ev("clerk", "inv0", call("<id1>", "pay_out", LUNCH)),
     ev("clerk", "inv0", resp("<id1>", "pay_out", {"item": "lunch", "paid": 40.0})),
     ev("clerk", "inv0", say("Paid 40.0 for lunch."))],
    [ev("clerk", "inv1", call("<id2>", "request_sign_off", FLIGHT), long_running=["<id2>"]),
     ev("clerk", "inv1", resp("<id2>", "request_sign_off",
                              {"status": "pending", "ticket": "T-7"})),
     ev("clerk", "inv1", say("Expense is pending (ticket T-7)."))],
    # The answer continues the invocation that made the call.
    [ev("clerk", "inv1", call("<id3>", "pay_out", FLIGHT)),
     ev("clerk", "inv1", resp("<id3>", "pay_out", {"item": "flight", "paid": 300.0})),
     ev("clerk", "inv1", say("Paid 300.0 for flight."))],
]

# What the session holds: the runs' events plus the user's messages, the client's answer
# stored as a user event of the same invocation.
ADK_LONG_RUNNING_STORED = [
    ev("user", "inv0", say("expense 40 for lunch")),
    *ADK_LONG_RUNNING_RUNS[0],
    ev("user", "inv1", say("expense 300 for flight")),
    *ADK_LONG_RUNNING_RUNS[1],
    ev("user", "inv1", resp("<id2>", "request_sign_off", APPROVED)),
    *ADK_LONG_RUNNING_RUNS[2],
]


def _contents(request: LlmRequest) -> list[tuple[str | None, list[str]]]:
    def part(p: types.Part) -> str:
        if p.function_call is not None:
            return f"call {p.function_call.name} {json.dumps(p.function_call.args, sort_keys=True)}"
        if p.function_response is not None:
            response = json.dumps(p.function_response.response, sort_keys=True)
            return f"response {p.function_response.name} {response}"
        return f"text {p.text}"

    return [(c.role, [part(p) for p in c.parts or []]) for c in request.contents]


# The history google-adk 2.13 sent with the model call that followed the client's answer:
# the final response replaces the pending one, and the model's interim text comes after it.
ADK_HISTORY_AFTER_ANSWER = [
    ("user", ["text expense 40 for lunch"]),
    ("model", ['call pay_out {"amount": 40.0, "item": "lunch"}']),
    ("user", ['response pay_out {"item": "lunch", "paid": 40.0}']),
    ("model", ["text Paid 40.0 for lunch."]),
    ("user", ["text expense 300 for flight"]),
    ("model", ['call request_sign_off {"amount": 300.0, "item": "flight"}']),
    ("user", ['response request_sign_off {"status": "approved", "ticket": "T-7"}']),
]


async def test_long_running_approval_answered_later_matches_adk() -> None:
    model = FunctionModel(function=answer)
    clerk = Agent(name="clerk", model=model, instruction="Handle expenses.",
                  tools=[pay_out, LongRunningFunctionTool(func=request_sign_off)])
    service = InMemorySessionService()
    await service.create_session(app_name="expenses", user_id=USER, session_id="a")
    runner = Runner(agent=clerk, app_name="expenses", session_service=service)
    shapes = Shapes()

    def run(message: types.Content) -> Any:
        return collect(runner.run_async(user_id=USER, session_id="a", new_message=message))

    runs = [await run(user_text("expense 40 for lunch")),
            await run(user_text("expense 300 for flight"))]
    pending = next(c for e in runs[1] for c in e.get_function_calls()
                   if c.id in (e.long_running_tool_ids or ()))
    assert pending.id is not None and pending.name is not None
    runs.append(await run(types.Content(role="user", parts=[types.Part(
        function_response=types.FunctionResponse(id=pending.id, name=pending.name,
                                                 response=APPROVED))])))

    assert ADK_LONG_RUNNING_RUNS == [shapes(events) for events in runs]
    session = await service.get_session(app_name="expenses", user_id=USER, session_id="a")
    assert session is not None
    assert ADK_LONG_RUNNING_STORED == shapes(session.events)
    assert [("pay_out", 40.0), ("request_sign_off", 300.0), ("pay_out", 300.0)] == RAN
    assert 6 == len(model.requests)
    assert ADK_HISTORY_AFTER_ANSWER == _contents(model.requests[4])[:7]


# ---- flow 2: a resumable App, the tool asks for confirmation, resumed by invocation id --

LYON = {"city": "Lyon", "count": 4}
ASKED = {"confirmed": False, "hint": "Book 4 trucks to Lyon?", "payload": {"count": 4}}

ADK_PAUSED_RUN = [
    ev("dispatcher", "inv0", call("<id1>", "reserve_trucks", LYON)),
    ev("dispatcher", "inv0", call("<id2>", CONFIRM, {
        "originalFunctionCall": {"args": LYON, "id": "<id1>", "name": "reserve_trucks"},
        "toolConfirmation": ASKED}), long_running=["<id2>"]),
    ev("dispatcher", "inv0", resp("<id1>", "reserve_trucks", {"status": "waiting"}),
       requested={"<id1>": ASKED}),
]


def adk_resumed_run(confirmed: bool) -> list[dict[str, Any]]:
    result = {"ref": "R-4-OK", "status": "booked"} if confirmed else {"status": "declined"}
    final = "Trucks: booked R-4-OK." if confirmed else "Trucks: declined."
    return [ev("dispatcher", "inv0", resp("<id1>", "reserve_trucks", result)),
            ev("dispatcher", "inv0", say(final)),
            ev("dispatcher", "inv0", end_of_agent=True)]


def adk_stored(confirmed: bool) -> list[dict[str, Any]]:
    return [ev("user", "inv0", say("Reserve 4 trucks to Lyon")), *ADK_PAUSED_RUN,
            ev("user", "inv0", resp("<id2>", CONFIRM, {"confirmed": confirmed})),
            *adk_resumed_run(confirmed)]


def _end_of_agent(event: dict[str, Any]) -> bool:
    return bool(event["actions"].get("end_of_agent")) and "content" not in event


def _without_end_of_agent(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if not _end_of_agent(e)]


def _interim_text(event: dict[str, Any]) -> bool:
    parts: Any = event.get("content", {}).get("parts")
    return bool(parts == [say("Trucks: waiting.")])


async def _dispatch(confirmed: bool) -> tuple[FunctionModel, InMemorySessionService,
                                              list[list[dict[str, Any]]], Shapes]:
    model = FunctionModel(function=answer)
    dispatcher = Agent(name="dispatcher", model=model, instruction="Reserve trucks.",
                       tools=[reserve_trucks])
    app = App(name="trucks", root_agent=dispatcher,
              resumability_config=ResumabilityConfig(is_resumable=True))
    service = InMemorySessionService()
    await service.create_session(app_name="trucks", user_id=USER, session_id="b")
    runner = Runner(app=app, session_service=service)
    shapes = Shapes()
    first = await collect(runner.run_async(user_id=USER, session_id="b",
                                           new_message=user_text("Reserve 4 trucks to Lyon")))
    asking, ask = next((e, c) for e in first for c in e.get_function_calls()
                       if c.name == CONFIRM)
    second = await collect(runner.run_async(
        user_id=USER, session_id="b", invocation_id=asking.invocation_id,
        new_message=types.Content(role="user", parts=[types.Part(
            function_response=types.FunctionResponse(id=ask.id, name=CONFIRM,
                                                     response={"confirmed": confirmed}))])))
    return model, service, [shapes(first), shapes(second)], shapes


@pytest.mark.parametrize("confirmed", [True, False], ids=["approve", "reject"])
async def test_confirmation_in_a_resumable_app_resumed_by_invocation_id(
        confirmed: bool) -> None:
    """The yielded and stored events of the paused and the resumed run, as google-adk
    2.13's."""
    model, service, (first, second), shapes = await _dispatch(confirmed)

    assert ADK_PAUSED_RUN == first
    assert adk_resumed_run(confirmed) == second
    session = await service.get_session(app_name="trucks", user_id=USER, session_id="b")
    assert session is not None
    assert adk_stored(confirmed) == shapes(session.events)
    # The tool ran twice: once asking, once with the answer.
    assert [("reserve_trucks", None), ("reserve_trucks", confirmed)] == RAN
    # The model's last call saw the question, the call and the tool's final answer only.
    result = '{"ref": "R-4-OK", "status": "booked"}' if confirmed else \
        '{"status": "declined"}'
    assert [("user", ["text Reserve 4 trucks to Lyon"]),
            ("model", ['call reserve_trucks {"city": "Lyon", "count": 4}']),
            ("user", [f"response reserve_trucks {result}"])] == _contents(model.requests[-1])


async def test_a_resumable_app_pauses_without_a_model_call_after_the_request() -> None:
    model, _, (first, _second), _ = await _dispatch(True)
    assert ADK_PAUSED_RUN == first
    assert 2 == len(model.requests)


async def test_a_resumable_app_ends_the_agent_with_an_end_of_agent_event() -> None:
    _, _, (_first, second), _ = await _dispatch(True)
    assert adk_resumed_run(True) == second


async def test_a_small_order_in_a_resumable_app_needs_no_confirmation() -> None:
    model = FunctionModel(function=answer)
    app = App(name="trucks", root_agent=Agent(name="dispatcher", model=model,
                                              instruction="Reserve trucks.",
                                              tools=[reserve_trucks]),
              resumability_config=ResumabilityConfig(is_resumable=True))
    service = InMemorySessionService()
    await service.create_session(app_name="trucks", user_id=USER, session_id="c")
    runner = Runner(app=app, session_service=service)
    events = await collect(runner.run_async(user_id=USER, session_id="c",
                                            new_message=user_text("Reserve 2 trucks to Lyon")))
    small = {"city": "Lyon", "count": 2}
    adk = [ev("dispatcher", "inv0", call("<id1>", "reserve_trucks", small)),
           ev("dispatcher", "inv0", resp("<id1>", "reserve_trucks",
                                         {"ref": "R-2", "status": "booked"})),
           ev("dispatcher", "inv0", say("Trucks: booked R-2.")),
           ev("dispatcher", "inv0", end_of_agent=True)]
    assert adk == Shapes()(events)
    assert [("reserve_trucks", None)] == RAN

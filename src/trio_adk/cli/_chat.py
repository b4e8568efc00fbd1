"""The conversation of ``trio-adk run``: one query, or a ``[user]:`` loop over stdin.

Output is ADK's: ``[author]: text`` for each event with text (and ``[author]: (Paused for
input...)`` for one that waits on a long-running tool), or with ``jsonl`` one JSON object per
event, camelCase as ADK's ``adk run --jsonl`` writes it.
"""

from __future__ import annotations

import json
import sys
from contextlib import aclosing
from typing import Any, TextIO

import attrs
import trio

from trio_adk._runner import Runner
from trio_adk.events._event import Event
from trio_adk.sessions._session import Session

USER_ID = "test_user"
"""The user every ``trio-adk run`` session belongs to (ADK's ``adk run`` uses the same)."""

EXIT_TIMEOUT_MESSAGE = "the agent did not finish within {timeout} (--timeout)"


@attrs.frozen
class Chat:
    """What ``trio-adk run`` was asked to do, once the app is loaded and the runner built.

    ``query`` None means the interactive loop.  ``timeout`` (seconds) is each turn's
    deadline: the whole run of the agent for one message, model and tool calls included;
    ``timeout_text`` is how the user wrote it.
    """

    runner: Runner
    query: str | None
    session_id: str | None
    state: dict[str, Any] | None
    jsonl: bool
    timeout: float | None
    timeout_text: str | None


@attrs.define
class Outcome:
    """What the conversation ended with: the exit status it asks for (0 or 1)."""

    status: int = 0


def _write(stream: TextIO, text: str) -> None:
    stream.write(text)
    stream.flush()


def event_json(event: Event, session_id: str) -> str:
    """``event`` as one line of ``adk run --jsonl``: camelCase, no nulls, no empty actions,
    ``author``, ``session_id`` and ``id`` first."""
    data = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["session_id"] = session_id
    actions = data.get("actions")
    if isinstance(actions, dict):
        kept = {key: value for key, value in actions.items() if value != {}}
        if kept:
            data["actions"] = kept
        else:
            del data["actions"]
    first = {key: data[key] for key in ("author", "session_id", "id") if key in data}
    return json.dumps({**first, **data}, ensure_ascii=False)


def event_text(event: Event) -> str | None:
    """``event`` as ``adk run`` prints it (``[author]: text``), or None if it prints nothing."""
    author = event.author or "unknown"
    parts = event.content.parts if event.content is not None and event.content.parts else []
    text = "".join(part.text for part in parts if part.text)
    if text:
        return f"[{author}]: {text}"
    if event.long_running_tool_ids:
        return f"[{author}]: (Paused for input...)"
    return None


async def _session(chat: Chat) -> Session:
    service = chat.runner.session_service
    app_name = chat.runner.app_name
    if chat.session_id is not None:
        found = await service.get_session(app_name=app_name, user_id=USER_ID,
                                          session_id=chat.session_id)
        if found is not None:
            return found
    return await service.create_session(app_name=app_name, user_id=USER_ID, state=chat.state,
                                        session_id=chat.session_id)


async def _turn(chat: Chat, session: Session, text: str, out: TextIO, err: TextIO,
                outcome: Outcome) -> None:
    """Run the agent on ``text`` and print its events; a timeout is reported on ``err``."""
    events = chat.runner.run_async(user_id=USER_ID, session_id=session.id, new_message=text,
                                   timeout=chat.timeout)
    try:
        async with aclosing(events):
            async for event in events:
                line = event_json(event, session.id) if chat.jsonl else event_text(event)
                if line is not None:
                    _write(out, line + "\n")
    except TimeoutError:
        message = EXIT_TIMEOUT_MESSAGE.format(timeout=chat.timeout_text)
        _write(err, f"trio-adk: error: {message}.\n")
        outcome.status = 1


async def _read_line(stdin: TextIO) -> str:
    """The next line of ``stdin`` ("" at its end), read in a worker thread.

    Cancellation abandons the thread, which stays blocked in ``readline`` until a line
    comes or the process exits (trio's worker threads do not hold the process open).
    """
    return await trio.to_thread.run_sync(stdin.readline, abandon_on_cancel=True)


async def converse(chat: Chat, *, stdin: TextIO | None = None, out: TextIO | None = None,
                   err: TextIO | None = None) -> Outcome:
    """Hold the conversation ``chat`` describes; close its runner before returning.

    With a query: prints ``Session ID: <id>`` on ``err`` (not with ``jsonl``), runs the
    agent once and prints its events.  Without: prints ``Running agent <name>, type exit to
    exit.``, then prompts ``[user]: `` and runs a turn for each line of ``stdin`` until
    ``exit`` or the end of input (blank lines are skipped).  With ``jsonl`` the banner and
    the prompts go to ``err``, so ``out`` holds only events.

    A turn that passes its deadline is reported on ``err`` (one line) and the status becomes
    1; the loop goes on.  Cancellation (Ctrl-C) cancels the turn in flight and closes the
    runner, whose ``close()`` waits for the run's cleanup; a pending read of stdin is
    abandoned.  Other errors propagate after the runner is closed.  Call from a trio task.
    """
    stdin = sys.stdin if stdin is None else stdin
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    chatter = err if chat.jsonl else out
    outcome = Outcome()
    async with chat.runner:
        session = await _session(chat)
        if chat.query is not None:
            if not chat.jsonl:
                _write(err, f"Session ID: {session.id}\n")
            await _turn(chat, session, chat.query, out, err, outcome)
            return outcome
        agent = chat.runner.agent
        name = agent.name if agent is not None else chat.runner.app_name
        _write(chatter, f"Running agent {name}, type exit to exit.\n")
        while True:
            _write(chatter, "[user]: ")
            line = await _read_line(stdin)
            if not line:
                _write(chatter, "\n")
                break
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            if text == "exit":
                break
            await _turn(chat, session, text, out, err, outcome)
    return outcome

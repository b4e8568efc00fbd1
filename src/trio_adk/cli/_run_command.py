"""``trio-adk run AGENT_DIR [QUERY]``: talk to an app in the terminal, as ``adk run`` does."""

from __future__ import annotations

import json
import os
import re
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import attrs
import click
from click.core import ParameterSource

from trio_adk.cli._errors import ModelServer, api_keys, redact
from trio_adk.cli._options import debug_enabled, debug_option
from trio_adk.cli._running import EXIT_ERROR, EXIT_INTERRUPTED, run_command

if TYPE_CHECKING:
    from trio_adk._runner import Runner

F = TypeVar("F", bound=Callable[..., object])

_MEMORY = "memory://"
_TRUTHY = frozenset({"1", "true", "yes", "on"})
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smh]?)")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def _parse_duration(_ctx: click.Context, _param: click.Parameter,
                    value: str | None) -> tuple[float, str] | None:
    """``--timeout``: ``30``, ``30s``, ``5m`` or ``1.5h`` as ``(seconds, how it was written)``."""
    if value is None:
        return None
    text = value.strip()
    match = _DURATION.fullmatch(text.lower())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration: write seconds (30 or 30s) or "
                                 f"minutes (5m).")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)], text


@attrs.frozen
class _Storage:
    """The service URIs a run uses, and a note for stderr when the default had to change."""

    session: str
    artifact: str
    memory: str
    note: str | None = None


def _say(line: str) -> None:
    click.echo(redact(" ".join(line.split()), api_keys()), err=True)


def _fail(ctx: click.Context, message: str, exc: BaseException | None = None) -> NoReturn:
    """End the command with one line on stderr (the traceback first with --debug), status 1."""
    if exc is not None and debug_enabled(ctx):
        _say_block("".join(traceback.format_exception(exc)).rstrip())
    _say(f"trio-adk: error: {message}")
    ctx.exit(EXIT_ERROR)


def _say_block(text: str) -> None:
    click.echo(redact(text, api_keys()), err=True)


def _local_storage_disabled() -> bool:
    return os.environ.get("ADK_DISABLE_LOCAL_STORAGE", "").strip().lower() in _TRUTHY


def _choose_storage(agent_dir: Path, *, in_memory: bool, use_local_storage: bool,
                    session_uri: str | None, artifact_uri: str | None,
                    memory_uri: str | None) -> _Storage:
    """ADK's choice: explicit URIs win; else the app's ``.adk/`` folder (SQLite sessions,
    file artifacts) unless local storage is off; memory is in memory unless named."""
    from trio_adk._service_registry import default_local_storage

    if in_memory:
        return _Storage(_MEMORY, _MEMORY, _MEMORY)
    note = None
    local_session, local_artifact = _MEMORY, _MEMORY
    if use_local_storage and (session_uri is None or artifact_uri is None):
        folder = agent_dir / ".adk"
        if _local_storage_disabled():
            note = "ADK_DISABLE_LOCAL_STORAGE is set: sessions and artifacts are kept in memory."
        elif not os.access(agent_dir, os.W_OK | os.X_OK):
            note = (f"{str(agent_dir)!r} is not writable: sessions and artifacts are kept in "
                    f"memory.")
        else:
            folder.mkdir(exist_ok=True)
            local_session, local_artifact = default_local_storage(agent_dir)
    return _Storage(session_uri or local_session, artifact_uri or local_artifact,
                    memory_uri or _MEMORY, note)


def _read_state(ctx: click.Context, state: str | None,
                state_file: Path | None) -> dict[str, Any] | None:
    if state is not None and state_file is not None:
        raise click.UsageError("--state and --state_file cannot be used together.")
    if state_file is not None:
        try:
            state = state_file.read_text(encoding="utf-8")
        except OSError as exc:
            _fail(ctx, f"cannot read --state_file {str(state_file)!r}: {exc.strerror or exc}.")
        where = f"--state_file {str(state_file)!r}"
    else:
        where = "--state"
    if state is None:
        return None
    try:
        value = json.loads(state)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"{where} is not valid JSON ({exc}). Give an object such as "
                               f"'{{\"key\": \"value\"}}'.") from exc
    if not isinstance(value, dict):
        raise click.UsageError(f"{where} must be a JSON object such as '{{\"key\": \"value\"}}', "
                               f"got {type(value).__name__}.")
    return value


def _model_server() -> ModelServer:
    url = os.environ.get("GOOGLE_GEMINI_BASE_URL")
    if url:
        return ModelServer(f"the model server at {url}", "Check GOOGLE_GEMINI_BASE_URL.")
    return ModelServer("the Gemini API", "Check your network connection.")


def _option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    """An option under ADK's underscore spelling and its dash twin (``--in_memory`` and
    ``--in-memory``)."""
    twins = [name.replace("_", "-") for name in names if "_" in name.lstrip("-")]
    return click.option(*names, *twins, **kwargs)


@click.command(short_help="Talk to an app in the terminal (one QUERY, or a [user]: loop).")
@click.argument("agent_dir", metavar="AGENT_DIR",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("query", required=False)
@_option("--jsonl", is_flag=True,
         help="Print each event as one line of JSON (camelCase, as ADK's adk run --jsonl).")
@_option("--timeout", callback=_parse_duration, metavar="DURATION",
         help="A deadline for each turn: the agent's whole run for one message, model and "
              "tool calls included (30, 30s, 5m).")
@_option("--session_id", metavar="ID",
         help="Continue this session (it is created if it does not exist).")
@_option("--state", metavar="JSON", help="The new session's initial state, a JSON object.")
@_option("--state_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
         help="Read the initial state from this JSON file.")
@_option("--in_memory", is_flag=True,
         help="Keep sessions, artifacts and memory in memory only (nothing is stored).")
@click.option("--use_local_storage/--no_use_local_storage",
              "--use-local-storage/--no-use-local-storage", default=True, show_default=True,
              help="Without service URIs, store sessions and artifacts in the app's .adk/ "
                   "folder (session.db, artifacts/).")
@_option("--session_service_uri", metavar="URI",
         help="Where sessions live: sqlite:///x.db, postgresql://..., memory://.")
@_option("--artifact_service_uri", metavar="URI",
         help="Where artifacts live: file:///dir, s3://bucket/prefix, memory://.")
@_option("--memory_service_uri", metavar="URI", help="The memory service: memory://.")
@debug_option
@click.pass_context
def run(ctx: click.Context, agent_dir: Path, query: str | None, jsonl: bool,
        timeout: tuple[float, str] | None, session_id: str | None, state: str | None,
        state_file: Path | None, in_memory: bool, use_local_storage: bool,
        session_service_uri: str | None, artifact_service_uri: str | None,
        memory_service_uri: str | None) -> None:
    """Run the app in AGENT_DIR: answer QUERY and exit, or hold a conversation on stdin.

    AGENT_DIR is an app's folder, as ADK lays it out: it holds agent.py (or an __init__.py
    that imports it) defining root_agent.  Its .env file (or the first one above it) is
    loaded first; variables already set win.

    Without QUERY, it prompts "[user]: " and answers each line until "exit" or the end of
    input; with QUERY it answers once (the session id goes to stderr).  Each reply prints as
    "[author]: text", or with --jsonl as one JSON event per line.

    Sessions and artifacts are kept in AGENT_DIR/.adk/ unless --in_memory, a service URI or
    --no_use_local_storage says otherwise, so --session_id can continue a conversation.

    Ctrl-C cancels the turn in flight and exits cleanly (status 130).
    """
    explicit_local = ctx.get_parameter_source("use_local_storage") not in (
        ParameterSource.DEFAULT, None)
    if explicit_local and (session_service_uri or artifact_service_uri):
        raise click.UsageError("--use_local_storage/--no_use_local_storage cannot be used with "
                               "--session_service_uri or --artifact_service_uri.")
    initial_state = _read_state(ctx, state, state_file)
    from trio_adk.cli._chat import Chat, converse

    agent_path = agent_dir.resolve()
    chat_runner = _load(ctx, agent_path, in_memory=in_memory,
                        use_local_storage=use_local_storage,
                        session_uri=session_service_uri, artifact_uri=artifact_service_uri,
                        memory_uri=memory_service_uri)
    chat = Chat(runner=chat_runner, query=query, session_id=session_id, state=initial_state,
                jsonl=jsonl, timeout=None if timeout is None else timeout[0],
                timeout_text=None if timeout is None else timeout[1])
    outcome: list[int] = []

    async def body() -> None:
        outcome.append((await converse(chat)).status)

    status = run_command(body, server=_model_server(), debug=debug_enabled(ctx))
    ctx.exit(status or (outcome[0] if outcome else 0))


def _load(ctx: click.Context, agent_path: Path, *, in_memory: bool, use_local_storage: bool,
          session_uri: str | None, artifact_uri: str | None, memory_uri: str | None) -> Runner:
    """The app's runner: the app loaded (its .env too), the services chosen and built.

    Runs on the main thread before the trio run starts: the app's code is imported as ADK
    imports it, and a Ctrl-C while it loads ends the command with status 130.
    """
    from trio_adk._runner import Runner
    from trio_adk.apps import AgentLoader, AgentLoadError, App

    if agent_path.parent == agent_path:
        raise click.BadParameter("give an app's folder, not the root directory.",
                                 param_hint="'AGENT_DIR'")
    loader = AgentLoader(agent_path if (agent_path / "agent.py").is_file()
                         else agent_path.parent)
    name = agent_path.name
    try:
        agent = loader.load_agent(name)
    except AgentLoadError as exc:
        _fail(ctx, str(exc), exc)
    except KeyboardInterrupt:
        _say("Interrupted.")
        ctx.exit(EXIT_INTERRUPTED)
    storage = _choose_storage(loader.agent_dir(name), in_memory=in_memory,
                              use_local_storage=use_local_storage, session_uri=session_uri,
                              artifact_uri=artifact_uri, memory_uri=memory_uri)
    build = partial(Runner, artifact_service=storage.artifact, memory_service=storage.memory,
                    **({"app": agent} if isinstance(agent, App)  # as ADK: the App's name
                       else {"app_name": name, "agent": agent}))
    note = storage.note
    try:
        try:
            runner = build(session_service=storage.session)
        except ImportError:
            if session_uri is not None or storage.session == _MEMORY:
                raise
            note = ("this trio-adk cannot store sessions in SQLite yet: sessions are kept in "
                    "memory (artifacts still go to the app's .adk/ folder).")
            runner = build(session_service=_MEMORY)
    except (ValueError, TypeError, ImportError) as exc:
        _fail(ctx, f"cannot set up the app's services: {exc}", exc)
    if note is not None:
        _say(f"trio-adk: note: {note}")
    return runner

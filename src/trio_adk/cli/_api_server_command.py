"""``trio-adk api_server``: ADK's HTTP API over an agents directory, served on trio."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from trio_adk.cli._errors import ModelServer
from trio_adk.cli._options import debug_enabled, debug_option
from trio_adk.cli._running import run_command

if TYPE_CHECKING:
    import trio

    from trio_adk.server import Authenticator

_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
_AUTH_MODES = ("none", "bearer", "header")


def build_auth(mode: str, *, tokens_file: str | None, tokens_env: str,
               header: str) -> Authenticator | None:
    """The authenticator for ``--auth`` (``ValueError`` says what is missing; it never
    quotes a token)."""
    from trio_adk.server import BearerAuth, HeaderAuth

    if mode == "none":
        return None
    if mode == "header":
        return HeaderAuth(header)
    if tokens_file is not None:
        return BearerAuth.from_file(tokens_file)
    return BearerAuth.from_env(tokens_env)


def _sigterm_receiver() -> AbstractContextManager[Any]:
    """SIGTERM as a trio signal receiver, opened over the command's own (so a SIGTERM
    drains instead of cancelling); nothing off the main thread, where signals cannot be
    caught."""
    import trio

    if threading.current_thread() is not threading.main_thread():
        return nullcontext(None)
    return trio.open_signal_receiver(signal.SIGTERM)


async def _on_sigterm(signals: Any, first: trio.Event, scope: trio.CancelScope) -> None:
    """The first SIGTERM starts the drain (``first``); a second cancels ``scope`` at once."""
    async for _ in signals:
        if first.is_set():
            scope.cancel()
            return
        first.set()


async def _serve_agents(*, agents_dir: str, host: str, port: int, allow_origins: list[str],
                        url_prefix: str | None, session_service_uri: str | None,
                        artifact_service_uri: str | None, memory_service_uri: str | None,
                        use_local_storage: bool, auto_create_session: bool,
                        max_llm_calls: int | None, auth: Authenticator | None = None,
                        strict_user: bool = False, drain_timeout: float = 30.0) -> None:
    """Serve until SIGTERM or cancelled.

    SIGTERM drains: new requests get 503, runs in flight get up to ``drain_timeout``
    seconds, then are cancelled (cleanup awaited; live sockets closed with 1001); a second
    SIGTERM cancels at once.  The signal is then handed to the command's supervisor, so the
    exit status is 143.  Cancellation (Ctrl-C) cancels every request at once: their runs'
    cleanup is awaited, then every runner and service is closed.
    """
    import trio

    from trio_adk.apps import AgentLoader
    from trio_adk.server import ApiServer, build_services, serve

    loader = AgentLoader(agents_dir)
    await trio.to_thread.run_sync(loader.list_agents)  # a missing folder fails here
    services = build_services(loader, loader.agents_dir,
                              session_service_uri=session_service_uri,
                              artifact_service_uri=artifact_service_uri,
                              memory_service_uri=memory_service_uri,
                              use_local_storage=use_local_storage)
    terminated = trio.Event()
    async with ApiServer(agent_loader=loader, services=services, own_services=True,
                         allow_origins=allow_origins, bind_host=host, url_prefix=url_prefix,
                         auto_create_session=auto_create_session,
                         max_llm_calls=max_llm_calls, auth=auth,
                         strict_user=strict_user) as server:
        with _sigterm_receiver() as signals:
            async with trio.open_nursery() as nursery:
                if signals is not None:
                    nursery.start_soon(_on_sigterm, signals, terminated, nursery.cancel_scope)

                async def serving(task_status: trio.TaskStatus[list[str]]) -> None:
                    await serve(server, host=host, port=port, drain_timeout=drain_timeout,
                                shutdown_trigger=terminated.wait, task_status=task_status)
                    nursery.cancel_scope.cancel()  # drained: the SIGTERM watcher too

                urls = await nursery.start(serving)
                auth_note = ("no auth" if auth is None
                             else f"auth: {auth!r}{', strict users' if strict_user else ''}")
                sys.stderr.write(
                    f"trio-adk api_server: serving {urls[0]} (agents: {loader.agents_dir}; "
                    f"{'; '.join(services.description)}; {auth_note}). Ctrl-C to stop.\n")
                sys.stderr.flush()
    if terminated.is_set():
        report = server.requests
        sys.stderr.write(f"trio-adk api_server: drained ({report.started} request(s) "
                         f"served, {report.cancelled} cancelled at the deadline).\n")
        sys.stderr.flush()
        signal.raise_signal(signal.SIGTERM)  # the supervisor's turn: status 143
        await trio.sleep_forever()


@click.command("api_server", short_help="Serve ADK's HTTP API for the agents in AGENTS_DIR.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True,
              help="The port to listen on (0: any free port).")
@click.option("--allow_origins", multiple=True, metavar="ORIGIN",
              help="An origin allowed to call the server from a browser (CORS); repeatable. "
                   "'regex:<pattern>' allows the origins matching the pattern.")
@click.option("--url_prefix", metavar="PATH",
              help="The path the server is mounted under behind a reverse proxy (e.g. /adk).")
@click.option("--session_service_uri", metavar="URI",
              help="Where sessions are kept: memory://, sqlite:///path.db, "
                   "postgresql://... (default: <app>/.adk/session.db per app).")
@click.option("--artifact_service_uri", metavar="URI",
              help="Where artifacts are kept: memory://, file:///dir, s3://bucket/prefix "
                   "(default: <app>/.adk/artifacts per app).")
@click.option("--memory_service_uri", metavar="URI",
              help="The memory service (default: in memory).")
@click.option("--use_local_storage/--no_use_local_storage", default=True, show_default=True,
              help="Keep sessions and artifacts in each app's .adk folder when no URI is "
                   "given (else in memory).")
@click.option("--in_memory", is_flag=True,
              help="Keep sessions and artifacts in memory only (same as "
                   "--no_use_local_storage).")
@click.option("--auto_create_session", is_flag=True,
              help="A run on a session that does not exist creates it (instead of 404).")
@click.option("--max_llm_calls", type=int, metavar="N",
              help="The most model calls one run may make (<= 0: no limit).")
@click.option("--auth", "auth_mode", type=click.Choice(_AUTH_MODES), default="none",
              show_default=True,
              help="Who may call: none (anyone, as ADK; for loopback development), bearer "
                   "(Authorization: Bearer <token>, tokens from --auth_tokens_file or "
                   "--auth_tokens_env) or header (the user id in --auth_header, set by a "
                   "trusted reverse proxy: only safe behind one).")
@click.option("--auth_tokens_file", type=click.Path(dir_okay=False, exists=True),
              metavar="PATH",
              help="Bearer tokens, one 'USER:TOKEN' (or 'TOKEN') a line.")
@click.option("--auth_tokens_env", default="TRIO_ADK_AUTH_TOKENS", show_default=True,
              metavar="NAME",
              help="The environment variable holding bearer tokens when no file is given "
                   "('USER:TOKEN' entries separated by commas or newlines).")
@click.option("--auth_header", default="X-Forwarded-User", show_default=True,
              metavar="HEADER", help="The proxy's user header for --auth header.")
@click.option("--strict_user", is_flag=True,
              help="Bind users to callers: the user in paths, run bodies and /run_live must "
                   "be the authenticated one (403 otherwise). Needs --auth bearer or header.")
@click.option("--drain_timeout", type=click.FloatRange(min=0), default=30.0,
              show_default=True, metavar="SECONDS",
              help="On SIGTERM: seconds runs in flight get to finish (new requests get 503) "
                   "before they are cancelled and live sockets closed with 1001.")
@click.option("--log_level", type=click.Choice(_LOG_LEVELS, case_sensitive=False),
              default="info", show_default=True, help="How much the server logs.")
@click.option("-v", "--verbose", is_flag=True, help="Log everything (--log_level debug).")
@debug_option
@click.argument("agents_dir", type=click.Path(file_okay=False, dir_okay=True, exists=True),
                default=".", required=False)
@click.pass_context
def api_server(ctx: click.Context, agents_dir: str, host: str, port: int,
               allow_origins: tuple[str, ...], url_prefix: str | None,
               session_service_uri: str | None, artifact_service_uri: str | None,
               memory_service_uri: str | None, use_local_storage: bool, in_memory: bool,
               auto_create_session: bool, max_llm_calls: int | None, auth_mode: str,
               auth_tokens_file: str | None, auth_tokens_env: str, auth_header: str,
               strict_user: bool, drain_timeout: float, log_level: str,
               verbose: bool) -> None:
    """Serve ADK 2.13's HTTP API for the agents in AGENTS_DIR (default: the current folder).

    AGENTS_DIR holds one folder per app (with agent.py or __init__.py exposing root_agent),
    or is a single app's folder. The routes, bodies, status codes, /run_sse framing and
    /run_live protocol are ADK's, so ADK's clients and dev UI talk to it unchanged.

    By default the endpoints are unauthenticated, as ADK's are: serve them on a trusted
    network only (the default 127.0.0.1 is reachable from this machine only), or use --auth
    (and --strict_user, so that callers reach their own sessions only).

    SIGTERM drains: new requests get 503, runs in flight get --drain_timeout seconds to
    finish, then are cancelled (cleanup awaited) and live sockets closed with 1001; exit
    status 143. Ctrl-C (SIGINT) cancels every request at once; exit status 130. A second
    signal leaves without waiting for the clean-up.
    """
    if strict_user and auth_mode == "none":
        raise click.UsageError("--strict_user needs --auth bearer or --auth header.")
    if auth_tokens_file is not None and auth_mode != "bearer":
        raise click.UsageError("--auth_tokens_file is for --auth bearer.")
    try:
        auth = build_auth(auth_mode, tokens_file=auth_tokens_file, tokens_env=auth_tokens_env,
                          header=auth_header)
    except (OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    logging.basicConfig(level="DEBUG" if verbose else log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    status = run_command(
        partial(_serve_agents, agents_dir=os.fspath(agents_dir), host=host, port=port,
                allow_origins=list(allow_origins), url_prefix=url_prefix,
                session_service_uri=session_service_uri,
                artifact_service_uri=artifact_service_uri,
                memory_service_uri=memory_service_uri,
                use_local_storage=use_local_storage and not in_memory,
                auto_create_session=auto_create_session, max_llm_calls=max_llm_calls,
                auth=auth, strict_user=strict_user, drain_timeout=drain_timeout),
        server=ModelServer("the model server", "Check GOOGLE_GEMINI_BASE_URL and the API key."),
        debug=debug_enabled(ctx))
    ctx.exit(status)

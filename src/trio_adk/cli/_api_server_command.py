"""``trio-adk api_server``: ADK's HTTP API over an agents directory, served on trio."""

from __future__ import annotations

import logging
import os
import sys
from functools import partial

import click

from trio_adk.cli._errors import ModelServer
from trio_adk.cli._options import debug_enabled, debug_option
from trio_adk.cli._running import run_command

_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


async def _serve_agents(*, agents_dir: str, host: str, port: int, allow_origins: list[str],
                        url_prefix: str | None, session_service_uri: str | None,
                        artifact_service_uri: str | None, memory_service_uri: str | None,
                        use_local_storage: bool, auto_create_session: bool,
                        max_llm_calls: int | None) -> None:
    """Serve until cancelled (Ctrl-C, SIGTERM): requests in flight are cancelled, their runs'
    cleanup awaited, then every runner and service is closed."""
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
    async with ApiServer(agent_loader=loader, services=services, own_services=True,
                         allow_origins=allow_origins, bind_host=host, url_prefix=url_prefix,
                         auto_create_session=auto_create_session,
                         max_llm_calls=max_llm_calls) as server, trio.open_nursery() as nursery:
        urls = await nursery.start(partial(serve, server, host=host, port=port))
        sys.stderr.write(f"trio-adk api_server: serving {urls[0]} "
                         f"(agents: {loader.agents_dir}; {'; '.join(services.description)})."
                         " Ctrl-C to stop.\n")
        sys.stderr.flush()


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
               auto_create_session: bool, max_llm_calls: int | None, log_level: str,
               verbose: bool) -> None:
    """Serve ADK 2.13's HTTP API for the agents in AGENTS_DIR (default: the current folder).

    AGENTS_DIR holds one folder per app (with agent.py or __init__.py exposing root_agent),
    or is a single app's folder. The routes, bodies, status codes, /run_sse framing and
    /run_live protocol are ADK's, so ADK's clients and dev UI talk to it unchanged.

    The endpoints are unauthenticated, as ADK's are: serve them on a trusted network only
    (the default 127.0.0.1 is reachable from this machine only).

    Ctrl-C or SIGTERM stops the server: requests in flight are cancelled (each run's cleanup
    awaited), runners and services are closed, and the exit status is 130 or 143.
    """
    logging.basicConfig(level="DEBUG" if verbose else log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    status = run_command(
        partial(_serve_agents, agents_dir=os.fspath(agents_dir), host=host, port=port,
                allow_origins=list(allow_origins), url_prefix=url_prefix,
                session_service_uri=session_service_uri,
                artifact_service_uri=artifact_service_uri,
                memory_service_uri=memory_service_uri,
                use_local_storage=use_local_storage and not in_memory,
                auto_create_session=auto_create_session, max_llm_calls=max_llm_calls),
        server=ModelServer("the model server", "Check GOOGLE_GEMINI_BASE_URL and the API key."),
        debug=debug_enabled(ctx))
    ctx.exit(status)

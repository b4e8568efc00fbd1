"""``trio-adk web``: ``trio-adk api_server`` plus ADK 2.13's dev UI and its ``/dev`` routes."""

from __future__ import annotations

import logging
import os
import sys
from functools import partial

import click

from trio_adk.cli._api_server_command import api_server
from trio_adk.cli._errors import ModelServer
from trio_adk.cli._options import debug_enabled, debug_option
from trio_adk.cli._running import run_command

# The options trio-adk web takes from trio-adk api_server, unchanged.
_SHARED = ("host", "port", "allow_origins", "url_prefix", "session_service_uri",
           "artifact_service_uri", "memory_service_uri", "use_local_storage", "in_memory",
           "auto_create_session", "max_llm_calls", "log_level", "verbose")
_SHARED_PARAMS = [param for name in _SHARED for param in api_server.params
                  if param.name == name]
if len(_SHARED_PARAMS) != len(_SHARED):
    raise RuntimeError("trio-adk web: trio-adk api_server's options changed; update _SHARED")


async def _serve_web(*, ui_dir: str, agents_dir: str, host: str, port: int,
                     allow_origins: list[str], url_prefix: str | None,
                     session_service_uri: str | None, artifact_service_uri: str | None,
                     memory_service_uri: str | None, use_local_storage: bool,
                     auto_create_session: bool, max_llm_calls: int | None,
                     logo_text: str | None, logo_image_url: str | None,
                     trace_buffer: int) -> None:
    """Serve the API and the dev UI until cancelled (Ctrl-C, SIGTERM): requests in flight
    are cancelled, their runs' cleanup awaited, then every runner and service is closed and
    the span collection stops."""
    import trio

    from trio_adk.apps import AgentLoader
    from trio_adk.server import ApiServer, build_services, serve
    from trio_adk.server._dev_ui import add_dev_ui
    from trio_adk.server._traces import NO_SDK_MESSAGE, SpanRing, collect_spans

    loader = AgentLoader(agents_dir)
    await trio.to_thread.run_sync(loader.list_agents)  # a missing folder fails here
    services = build_services(loader, loader.agents_dir,
                              session_service_uri=session_service_uri,
                              artifact_service_uri=artifact_service_uri,
                              memory_service_uri=memory_service_uri,
                              use_local_storage=use_local_storage)
    traces = SpanRing(trace_buffer)
    with collect_spans(traces) as collecting:
        async with ApiServer(agent_loader=loader, services=services, own_services=True,
                             allow_origins=allow_origins, bind_host=host,
                             url_prefix=url_prefix, auto_create_session=auto_create_session,
                             max_llm_calls=max_llm_calls) as server, \
                trio.open_nursery() as nursery:
            add_dev_ui(server, ui_dir, traces=traces, logo_text=logo_text,
                       logo_image_url=logo_image_url)
            urls = await nursery.start(partial(serve, server, host=host, port=port))
            landing = urls[0] + (server.url_prefix or "").rstrip("/") + "/dev-ui/"
            sys.stderr.write(
                f"trio-adk web: the dev UI is at {landing} (serving {urls[0]}; agents: "
                f"{loader.agents_dir}; {'; '.join(services.description)})."
                + ("" if collecting else f" {NO_SDK_MESSAGE}") + " Ctrl-C to stop.\n")
            sys.stderr.flush()


@click.command("web", short_help="Serve ADK's dev UI and HTTP API for the agents in AGENTS_DIR.")
@click.option("--ui_dir", type=click.Path(file_okay=False, dir_okay=True, exists=True),
              metavar="DIR",
              help="Serve the dev UI from this folder (google-adk's google/adk/cli/browser) "
                   "instead of the installed google-adk's.")
@click.option("--logo-text", "logo_text", metavar="TEXT",
              help="The text of the UI's logo (with --logo-image-url).")
@click.option("--logo-image-url", "logo_image_url", metavar="URL",
              help="The image of the UI's logo (with --logo-text).")
@click.option("--trace_buffer", type=click.IntRange(min=1), default=10_000, show_default=True,
              metavar="N", help="The most spans the trace view keeps (the oldest go first).")
@debug_option
@click.argument("agents_dir", type=click.Path(file_okay=False, dir_okay=True, exists=True),
                default=".", required=False)
@click.pass_context
def web(ctx: click.Context, agents_dir: str, ui_dir: str | None, logo_text: str | None,
        logo_image_url: str | None, trace_buffer: int, host: str, port: int,
        allow_origins: tuple[str, ...], url_prefix: str | None,
        session_service_uri: str | None, artifact_service_uri: str | None,
        memory_service_uri: str | None, use_local_storage: bool, in_memory: bool,
        auto_create_session: bool, max_llm_calls: int | None, log_level: str,
        verbose: bool) -> None:
    """Serve ADK 2.13's dev UI and HTTP API for the agents in AGENTS_DIR (default: the current
    folder), as adk web does; open the printed address in a browser.

    Everything trio-adk api_server serves is served too, plus the UI under /dev-ui/ and the
    /dev routes it calls: the app's structure, README and graph, and the trace view, filled
    from trio-adk's own OpenTelemetry spans (needs opentelemetry-sdk: pip install
    'trio-adk[otel]'). Evaluation, the agent builder, fixture tests and deployment answer
    501.

    The UI comes from google-adk, not from trio-adk: pip install 'trio-adk[web]' brings
    google-adk 2.13; --ui_dir or TRIO_ADK_GOOGLE_ADK_PYTHON (an interpreter with google-adk)
    point elsewhere.

    The endpoints are unauthenticated, as ADK's are: keep the default 127.0.0.1 unless the
    network is trusted. Ctrl-C or SIGTERM stops the server (runs in flight cancelled, their
    cleanup awaited); the exit status is 130 or 143.
    """
    from trio_adk.server._dev_ui import DevUiNotFoundError, find_dev_ui

    logging.basicConfig(level="DEBUG" if verbose else log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if bool(logo_text) != bool(logo_image_url):
        raise click.UsageError("--logo-text and --logo-image-url go together: give both.")
    try:
        bundle = find_dev_ui(ui_dir)
    except DevUiNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    logging.getLogger("trio_adk.server").info("Dev UI: %s, from %s.", bundle.path,
                                              bundle.source)
    status = run_command(
        partial(_serve_web, ui_dir=os.fspath(bundle.path), agents_dir=os.fspath(agents_dir),
                host=host, port=port, allow_origins=list(allow_origins), url_prefix=url_prefix,
                session_service_uri=session_service_uri,
                artifact_service_uri=artifact_service_uri,
                memory_service_uri=memory_service_uri,
                use_local_storage=use_local_storage and not in_memory,
                auto_create_session=auto_create_session, max_llm_calls=max_llm_calls,
                logo_text=logo_text, logo_image_url=logo_image_url, trace_buffer=trace_buffer),
        server=ModelServer("the model server", "Check GOOGLE_GEMINI_BASE_URL and the API key."),
        debug=debug_enabled(ctx))
    ctx.exit(status)


web.params[-1:-1] = _SHARED_PARAMS  # before AGENTS_DIR, after the web-only options

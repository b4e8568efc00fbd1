"""``trio-adk demo``: the multi-agent demo, or a voice conversation with ``--live``."""

from __future__ import annotations

import sys
from functools import partial

import click

from trio_adk.cli._errors import ModelServer
from trio_adk.cli._options import debug_enabled, debug_option
from trio_adk.cli._running import run_command


def _model_server(base_url: str | None) -> ModelServer:
    from trio_adk._demo import choose_target

    target = choose_target(base_url)
    if target.url is not None:
        return ModelServer(f"the model server at {target.url}",
                           "Check --base-url or GOOGLE_GEMINI_BASE_URL.")
    if target.real_gemini:
        return ModelServer("the Gemini API", "Check your network connection.")
    return ModelServer("the built-in fake Gemini server",
                       "This should not happen: please report it with the --debug output.")


@click.command(short_help="Run the multi-agent demo (--live: a voice conversation).")
@click.option("--live", is_flag=True,
              help="Play a scripted voice conversation over the Live API (run_live) instead.")
@click.option("--base-url", metavar="URL",
              help="Talk to this Gemini-compatible server (default: GOOGLE_GEMINI_BASE_URL).")
@click.option("--history", "history", metavar="PATH", type=click.Path(dir_okay=False),
              help="The SQLite file (ADK's format) that keeps the demo's sessions "
                   "(default: $XDG_DATA_HOME/trio-adk/demo/session.db).")
@click.option("--no-history", is_flag=True, help="Keep the sessions in memory only.")
@debug_option
@click.pass_context
def demo(ctx: click.Context, live: bool, base_url: str | None, history: str | None,
         no_history: bool) -> None:
    """Run a small multi-agent app for a few turns and print its events as they stream.

    The app is a concierge with two tools and a travel planner it hands over to. With --live
    it is a voice concierge instead: 20 ms audio frames go out in real time, and the model's
    transcripts, a tool call and the latency of each turn are printed.

    Where the model calls go: to --base-url or GOOGLE_GEMINI_BASE_URL if set (with the API key,
    if one is set); else to the real Gemini API if GOOGLE_API_KEY (or GEMINI_API_KEY) is set;
    else to a fake Gemini server started in-process, so the demo runs offline.

    The sessions are kept across runs in a SQLite file (--history, --no-history), so each
    run says how many earlier ones it finds.

    Ctrl-C stops the demo cleanly (exit status 130).
    """
    from pathlib import Path

    from trio_adk._demo import default_history_path, run_demo
    from trio_adk._demo_live import run_live_demo

    if live:
        body = partial(run_live_demo, sys.stdout, base_url=base_url)
    else:
        path = None if no_history else Path(history) if history else default_history_path()
        body = partial(run_demo, sys.stdout, base_url=base_url, history=path)
    status = run_command(body, server=_model_server(base_url), debug=debug_enabled(ctx))
    ctx.exit(status)

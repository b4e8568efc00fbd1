"""Run the fake OpenAI-compatible server from the command line.

``python -m trio_adk.testing.fake_openai --port 8766 [--host 127.0.0.1]`` serves
:func:`~trio_adk.testing.echo_responder` (echoes the user, calls a declared tool the user
names, reports tool results) on ``POST .../chat/completions``, streaming included; prints the
``api_base`` (``http://127.0.0.1:<port>/v1``) as the first line of stdout and runs until
Ctrl-C or SIGTERM.  Point ``LiteLlm`` at it with ``api_base=`` or ``OPENAI_BASE_URL`` and
any ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

import trio

from trio_adk.testing._fake_openai import FakeOpenAIServer as FakeOpenAIServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trio_adk.testing.fake_openai",
        description="A fake OpenAI-compatible Chat Completions server for tests and demos.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8766,
                        help="TCP port, 0 for any free port (default %(default)s)")
    parser.add_argument("--require-api-key", metavar="KEY", default=None,
                        help="refuse requests that do not carry this API key (401)")
    return parser


async def serve(host: str, port: int, require_api_key: str | None = None) -> None:
    """Serve the echo responder until SIGINT/SIGTERM or cancellation; print the base URL
    once listening.  Main thread of a trio run only (it installs signal handlers)."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with FakeOpenAIServer(host=host, port=port,
                                    require_api_key=require_api_key) as server:
            print(server.base_url, flush=True)
            print(f"fake OpenAI: chat completions on {server.base_url}; Ctrl-C stops",
                  file=sys.stderr, flush=True)
            async for _ in signals:
                break


def main(argv: Sequence[str] | None = None) -> int:
    """The command-line entry point (main thread only); returns 0 after Ctrl-C or SIGTERM."""
    args = _parser().parse_args(argv)
    trio.run(serve, args.host, args.port, args.require_api_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The fake Anthropic Messages API server, and its command line.

``python -m trio_adk.testing.fake_anthropic --port 8766 [--host 127.0.0.1]`` serves the
built-in responder (echo; calls a declared tool the user names; reports tool results) on
``POST /v1/messages``, JSON and SSE, prints the base URL as the first line of stdout, and runs
until Ctrl-C (or SIGTERM).  Point clients at it with ``ANTHROPIC_BASE_URL=<that URL>`` and any
``ANTHROPIC_API_KEY``.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
from collections.abc import Sequence

import trio

from trio_adk.testing._fake_anthropic._records import (
    RecordedAnthropicRequest as RecordedAnthropicRequest,
)
from trio_adk.testing._fake_anthropic._script import AnthropicError as AnthropicError
from trio_adk.testing._fake_anthropic._script import AnthropicReply as AnthropicReply
from trio_adk.testing._fake_anthropic._script import Fault as Fault
from trio_adk.testing._fake_anthropic._script import ScriptItem as ScriptItem
from trio_adk.testing._fake_anthropic._script import TextBlock as TextBlock
from trio_adk.testing._fake_anthropic._script import ThinkingBlock as ThinkingBlock
from trio_adk.testing._fake_anthropic._script import ToolUseBlock as ToolUseBlock
from trio_adk.testing._fake_anthropic._script import anthropic_error as anthropic_error
from trio_adk.testing._fake_anthropic._script import anthropic_text as anthropic_text
from trio_adk.testing._fake_anthropic._script import anthropic_tool_use as anthropic_tool_use
from trio_adk.testing._fake_anthropic._script import anthropic_tool_uses as anthropic_tool_uses
from trio_adk.testing._fake_anthropic._server import FakeAnthropicServer as FakeAnthropicServer
from trio_adk.testing._fake_anthropic._server import builtin_responder as builtin_responder

__all__ = [
    "AnthropicError",
    "AnthropicReply",
    "FakeAnthropicServer",
    "Fault",
    "RecordedAnthropicRequest",
    "ScriptItem",
    "TextBlock",
    "ThinkingBlock",
    "ToolUseBlock",
    "anthropic_error",
    "anthropic_text",
    "anthropic_tool_use",
    "anthropic_tool_uses",
    "builtin_responder",
    "main",
    "serve",
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trio_adk.testing.fake_anthropic",
        description="A fake Anthropic Messages API server (JSON and SSE) for tests and demos.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=8766,
                        help="TCP port, 0 for any free port (default %(default)s)")
    parser.add_argument("--require-api-key", metavar="KEY", default=None,
                        help="refuse requests that do not carry this API key")
    return parser


async def serve(host: str, port: int, *, require_api_key: str | None = None) -> None:
    """Serve the built-in responder until cancelled; print the base URL once listening.
    Runs in the calling trio task; cancellation closes every connection before it returns."""
    async with FakeAnthropicServer(host=host, port=port,
                                   require_api_key=require_api_key) as server:
        print(server.base_url, flush=True)
        print(f"fake Anthropic: Messages API on {server.base_url}; Ctrl-C stops",
              file=sys.stderr, flush=True)
        await trio.sleep_forever()


async def _serve_until_signalled(host: str, port: int, require_api_key: str | None) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(functools.partial(serve, host, port,
                                                 require_api_key=require_api_key))
            async for _ in signals:
                nursery.cancel_scope.cancel()
                break


def main(argv: Sequence[str] | None = None) -> int:
    """The command-line entry point (main thread only); returns 0 after Ctrl-C or SIGTERM."""
    args = _parser().parse_args(argv)
    trio.run(_serve_until_signalled, args.host, args.port, args.require_api_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())

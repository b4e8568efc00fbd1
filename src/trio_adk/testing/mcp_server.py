"""A tiny MCP server for tests and samples, written with the MCP SDK's server API.

Run it as a program (it needs the ``mcp`` extra)::

    python -m trio_adk.testing.mcp_server                       # stdio, on trio
    python -m trio_adk.testing.mcp_server --transport streamable-http --port 0
    python -m trio_adk.testing.mcp_server --transport sse --port 8123

Over HTTP it prints one line, ``READY http://127.0.0.1:<port>/<path>``, once it listens
(``--port 0`` picks a free port), then serves until killed.  The stdio server runs on
trio (the SDK is pure anyio); the HTTP servers on hypercorn's trio worker, like
trio-adk's own server.

Its tools, each there to exercise one behaviour of a client:

* ``add(a, b)``: an integer sum, with structured output;
* ``echo(text)``: the text back;
* ``pid()``: the server's process id (to check it was reaped);
* ``fail(message)``: a tool error (``isError``) with that message;
* ``slow(seconds, tag)``: sleeps; its start and its cancellation are recorded;
* ``slow_calls(started_at_least, cancelled_at_least)``: the tags of the ``slow`` calls
  started and cancelled so far, waiting until there are at least that many of each;
* ``ignore_cancellation(seconds)``: sleeps through cancellation, and makes the process
  ignore SIGTERM, so only SIGKILL stops it;
* ``crash()``: the process exits at once, mid-call.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

__all__ = ["build_server", "main"]


def build_server() -> MCPServer:
    """The server, its tools registered (a fresh one per call)."""
    server = MCPServer("trio-adk-test-server")
    started: list[str] = []
    cancelled: list[str] = []
    changed = [anyio.Event()]

    def record(tags: list[str], tag: str) -> None:
        tags.append(tag)
        changed[0].set()
        changed[0] = anyio.Event()

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def fail(message: str) -> str:
        """Fail with this message (a tool error, not a protocol error)."""
        raise ToolError(message)

    @server.tool()
    async def slow(seconds: float, tag: str = "") -> str:
        """Sleep for a while; the call is recorded under its tag when it starts, and again
        if it is cancelled."""
        record(started, tag)
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            record(cancelled, tag)
            raise
        return f"slept {seconds}"

    @server.tool()
    async def slow_calls(started_at_least: int = 0,
                         cancelled_at_least: int = 0) -> dict[str, list[str]]:
        """The tags of the slow calls started and cancelled so far, once there are at
        least that many of each."""
        while len(started) < started_at_least or len(cancelled) < cancelled_at_least:
            await changed[0].wait()
        return {"started": list(started), "cancelled": list(cancelled)}

    @server.tool()
    async def ignore_cancellation(seconds: float) -> str:
        """Sleep through any cancellation; SIGTERM is ignored from now on."""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with anyio.CancelScope(shield=True):
            await anyio.sleep(seconds)
        return "done"

    @server.tool()
    def crash() -> str:
        """Exit the server process at once (the call never gets an answer)."""
        os._exit(3)

    return server


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _serve_http(transport: str, port: int) -> None:
    """Serve the tiny server over HTTP on hypercorn's trio worker (the SDK's app is
    ASGI on anyio), printing ``READY <url>`` once it listens; SIGINT/SIGTERM stop it."""
    import signal
    from functools import partial

    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    server = build_server()
    if transport == "sse":
        app, path = server.sse_app(), "/sse"
    else:
        app, path = server.streamable_http_app(), "/mcp"
    sock = _listen(port)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.loglevel = "WARNING"

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                await nursery.start(partial(serve, app, config,  # type: ignore[arg-type]
                                            shutdown_trigger=trio.sleep_forever))
                print(f"READY http://127.0.0.1:{sock.getsockname()[1]}{path}", flush=True)
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    break

    trio.run(run)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m trio_adk.testing.mcp_server")
    parser.add_argument("--transport", choices=["stdio", "streamable-http", "sse"],
                        default="stdio")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.transport == "stdio":
        anyio.run(build_server().run_stdio_async, backend="trio")
    else:
        _serve_http(args.transport, args.port)


if __name__ == "__main__":
    main(sys.argv[1:])

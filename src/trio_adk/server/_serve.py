"""Serving an :class:`ApiServer` with hypercorn's trio worker, inside the caller's trio run."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from trio_adk.server._app import ApiServer

_log = logging.getLogger("trio_adk.server")

BACKLOG = 2048
"""Connections the kernel may queue before they are accepted (hypercorn's default, 100, resets
clients when hundreds connect at once; uvicorn, under ADK, uses 2048)."""


def _config(host: str, port: int, *, graceful_timeout: float, access_log: bool) -> Config:
    config = Config()
    bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    config.bind = [f"{bind_host}:{port}"]
    config.graceful_timeout = graceful_timeout
    config.backlog = BACKLOG
    config.accesslog = "-" if access_log else None
    config.errorlog = None  # trio-adk logs through the "trio_adk.server" logger
    return config


async def serve(server: ApiServer, *, host: str = "127.0.0.1", port: int = 8000,
                shutdown_trigger: Callable[..., Awaitable[None]] | None = None,
                drain_timeout: float = 30.0, graceful_timeout: float = 5.0,
                access_log: bool = False,
                task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``server.app`` on ``host:port`` (port 0: any free port) until stopped.

    Use ``await nursery.start(serve, server, ...)``: it returns the bound URLs
    (``["http://127.0.0.1:54321"]``) once the socket listens.  Stopping:

    * ``shutdown_trigger`` returning drains the server (:meth:`ApiServer.drain`): new
      requests get 503, requests in flight get up to ``drain_timeout`` seconds to finish,
      then are cancelled (cleanup awaited; live sockets closed with 1001); then the listener
      closes and idle connections get up to ``graceful_timeout`` seconds before ``serve``
      returns;
    * cancelling ``serve`` (Ctrl-C in the CLI) cancels every request at once: each
      request's run is cancelled and its cleanup awaited before ``serve`` returns.

    ``serve`` does not close ``server``: the caller does (``async with server:`` around
    it), after ``serve`` returned, so runners close once no request uses them.
    """
    config = _config(host, port, graceful_timeout=graceful_timeout, access_log=access_log)
    trigger = None
    if shutdown_trigger is not None:
        stop = shutdown_trigger

        async def trigger() -> None:
            await stop()
            await server.drain(drain_timeout)

    await hypercorn_serve(server.app, config,  # type: ignore[arg-type]
                          shutdown_trigger=trigger, task_status=task_status)

"""A tiny loopback HTTP server that answers every request with canned bytes.

For what ``FakeGeminiServer`` will not do on purpose: redirects, bodies of the wrong shape,
undecodable bodies.  Real sockets: one trio listener on 127.0.0.1, one request per
connection (the answer says ``connection: close``), each raw request recorded.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

_HEAD_END = b"\r\n\r\n"


@attrs.define
class CannedServer:
    """A running canned server: where it listens and what it received."""

    port: int
    requests: list[bytes] = attrs.field(factory=list)
    """Every request as received: head and body bytes."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def request_lines(self) -> list[str]:
        """The first line of every request, e.g. ``POST /v1beta/...:generateContent HTTP/1.1``."""
        return [raw.split(b"\r\n", 1)[0].decode("latin-1") for raw in self.requests]


def answer(status: int, body: bytes = b"", *, reason: str = "X",
           headers: list[tuple[str, str]] | None = None,
           content_type: str = "application/json") -> bytes:
    """A complete HTTP/1.1 response with a content-length, closing the connection."""
    lines = [f"HTTP/1.1 {status} {reason}", f"content-type: {content_type}",
             f"content-length: {len(body)}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def redirect(location: str, status: int = 307) -> bytes:
    """A redirect to ``location``."""
    return answer(status, headers=[("location", location)], reason="Redirect")


def json_body(value: Any) -> bytes:
    """A 200 whose body is ``value`` as JSON."""
    return answer(200, json.dumps(value).encode())


def sse_body(*values: Any) -> bytes:
    """A 200 ``text/event-stream`` with one ``data:`` event per value (sent as JSON)."""
    events = b"".join(b"data: " + json.dumps(v).encode() + b"\r\n\r\n" for v in values)
    return answer(200, events, content_type="text/event-stream")


async def _read_request(stream: trio.abc.Stream) -> bytes:
    data = bytearray()
    while _HEAD_END not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            return bytes(data)
        data += chunk
    head, _, _ = bytes(data).partition(_HEAD_END)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(data) < len(head) + len(_HEAD_END) + length:
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
    return bytes(data)


@asynccontextmanager
async def canned_server(respond: Callable[[bytes], bytes] | bytes) -> AsyncIterator[CannedServer]:
    """Serve on loopback until the block ends; ``respond`` is the answer (bytes) or a function
    of the raw request returning it."""
    server: CannedServer | None = None

    async def handle(stream: trio.SocketStream) -> None:
        assert server is not None
        async with stream:
            try:
                raw = await _read_request(stream)
                if not raw:
                    return
                server.requests.append(raw)
                await stream.send_all(respond(raw) if callable(respond) else respond)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, handle, 0,
                                                            host="127.0.0.1"))
        server = CannedServer(port=listeners[0].socket.getsockname()[1])
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()


def host_of(raw: bytes) -> str:
    """The ``Host`` header of a raw request (``127.0.0.1:PORT``)."""
    for line in raw.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            return value.strip().decode("latin-1")
    raise ValueError("the request has no Host header")

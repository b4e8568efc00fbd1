"""HTTP/1.1 on one connection with h11: requests in, JSON / SSE / faulty replies out."""

from __future__ import annotations

import json
from typing import Any

import attrs
import h11
import trio

_RECEIVE_SIZE = 65536
_SERVER_HEADER = (b"server", b"trio-adk-fake-gemini")


class DropConnection(Exception):
    """Raised to abandon a connection at once (injected fault or unusable peer)."""


@attrs.frozen(kw_only=True)
class IncomingRequest:
    """A complete HTTP request as parsed by h11 (headers keep their raw case in ``raw_headers``)."""

    method: str
    target: str
    raw_target: bytes
    http_version: bytes
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case header names; repeated headers joined with ``", "``."""
        merged: dict[str, str] = {}
        for name, value in self.raw_headers:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            merged[key] = f"{merged[key]}, {text}" if key in merged else text
        return merged

    @property
    def wants_websocket(self) -> bool:
        """True for an ``Upgrade: websocket`` request."""
        return "websocket" in self.headers.get("upgrade", "").lower()


def _json_bytes(value: Any, *, pretty: bool) -> bytes:
    if pretty:
        return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sse_event(value: Any) -> bytes:
    """One SSE event exactly as Gemini frames it: ``data: <compact json>\\r\\n\\r\\n``."""
    return b"data: " + _json_bytes(value, pretty=False) + b"\r\n\r\n"


class HttpConnection:
    """The server side of one HTTP/1.1 connection (keep-alive, chunked SSE, upgrade hand-off).

    Methods are called from the single task that owns the connection. Cancellation while
    reading or writing leaves the connection unusable; the owner then closes the stream.
    """

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self._h11 = h11.Connection(h11.SERVER)

    async def _next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                if self._h11.they_are_waiting_for_100_continue:
                    await self._send(h11.InformationalResponse(status_code=100, headers=[]))
                data = await self.stream.receive_some(_RECEIVE_SIZE)
                self._h11.receive_data(bytes(data))
                continue
            return event

    async def _send(self, event: h11.Event) -> None:
        data = self._h11.send(event)
        if data:
            await self.stream.send_all(data)

    async def next_request(self) -> IncomingRequest | None:
        """The next complete request, or ``None`` when the peer closed the connection.

        Raises :class:`h11.RemoteProtocolError` for garbage; the caller answers 400 if it can.
        """
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        event = await self._next_event()
        if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None
        if not isinstance(event, h11.Request):
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}", 400)
        body = bytearray()
        while True:
            part = await self._next_event()
            if isinstance(part, h11.Data):
                body += part.data
            elif isinstance(part, h11.EndOfMessage):
                break
            elif isinstance(part, h11.ConnectionClosed):
                return None
            else:
                raise h11.RemoteProtocolError(f"unexpected {part!r}", 400)
        return IncomingRequest(
            method=event.method.decode("ascii"),
            target=event.target.decode("latin-1"),
            raw_target=bytes(event.target),
            http_version=bytes(event.http_version),
            raw_headers=tuple((bytes(n), bytes(v)) for n, v in event.headers.raw_items()),
            body=bytes(body),
        )

    @property
    def can_answer(self) -> bool:
        """True while a response may still be started on this connection."""
        return self._h11.our_state in (h11.IDLE, h11.SEND_RESPONSE)

    @property
    def reusable(self) -> bool:
        """True if another request may follow on this connection (keep-alive)."""
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    def upgrade_bytes(self, request: IncomingRequest) -> bytes:
        """The upgrade request's head rebuilt byte for byte, plus any bytes read after it."""
        lines = [request.method.encode("ascii") + b" " + request.raw_target + b" HTTP/"
                 + request.http_version]
        lines += [name + b": " + value for name, value in request.raw_headers]
        trailing, _closed = self._h11.trailing_data
        return b"\r\n".join(lines) + b"\r\n\r\n" + trailing

    async def start_response(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        """Send the status line and headers (no framing header: h11 chooses chunked)."""
        await self._send(h11.Response(status_code=status, headers=[_SERVER_HEADER, *headers]))

    async def send_data(self, data: bytes) -> None:
        """Send part of the body (one HTTP chunk when the body is chunked)."""
        await self._send(h11.Data(data=data))

    async def end_response(self) -> None:
        """Finish the body (the terminating chunk when chunked)."""
        await self._send(h11.EndOfMessage())

    async def send_json(self, status: int, value: Any, *,
                        extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """A complete pretty-printed JSON response, as Google's REST front end sends it."""
        body = _json_bytes(value, pretty=True)
        await self.send_body(status, body, b"application/json; charset=UTF-8",
                             extra_headers=extra_headers)

    async def send_body(self, status: int, body: bytes, content_type: bytes, *,
                        extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """A complete response with a ``content-length``."""
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                   *(extra_headers or [])]
        await self.start_response(status, headers)
        await self.send_data(body)
        await self.end_response()

    async def send_partial_body(self, status: int, body: bytes, content_type: bytes) -> None:
        """Announce ``body`` but send only its first half, then drop the connection."""
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await self.start_response(status, headers)
        # Bypass h11's length check on purpose: the point is a body cut short.
        await self.stream.send_all(body[: len(body) // 2])
        raise DropConnection("fault: body dropped mid-way")

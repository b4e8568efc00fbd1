"""The Live (BidiGenerateContent) side of the fake server: setup handshake and session handlers.

A Live connection goes: WebSocket opening handshake → the client's ``setup`` message → the
server's ``setupComplete`` → the :data:`LiveHandler` of the server's :class:`LiveScript` runs the
rest of the session with a :class:`LiveSession`. The default handler, :func:`echo_live_handler`,
answers every text turn with a short model turn. Scripted conversations (streamed text, audio echo
with transcriptions, tool calls, barge-in, goAway, resumption handles, dropped connections, error
closes) are :class:`~trio_adk.testing.live_script.LiveConversation` handlers plugged into the same
hook (``_live_script.py``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

import attrs
import trio
import trio_websocket

from trio_adk.testing._fake_gemini._normalize import normalize_request
from trio_adk.testing._fake_gemini._records import RecordedLiveMessage


def live_frame(message: Mapping[str, Any]) -> bytes:
    """A server message as production frames it: pretty-printed UTF-8 JSON for a binary frame."""
    return (json.dumps(message, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class LiveSession:
    """One accepted Live connection, after the setup handshake, as seen by a handler.

    Every method is called from the connection's task (or tasks the handler starts in its own
    nursery). ``receive`` and ``send`` raise nothing when the client has gone: ``receive`` returns
    ``None`` and ``send`` does nothing, so handlers stay short. Cancellation (server shutdown)
    propagates out of any await; the server then closes the WebSocket with 1001.
    """

    def __init__(self, websocket: trio_websocket.WebSocketConnection, *, index: int, path: str,
                 headers: Mapping[str, str], setup: Mapping[str, Any],
                 record: Callable[[RecordedLiveMessage], None],
                 stream: trio.abc.Stream | None = None) -> None:
        self._ws = websocket
        self._record = record
        self._stream = stream
        self.dropped = False
        """True once :meth:`drop` cut the connection."""
        self.index = index
        """The server's number for this Live connection, from 0."""
        self.path = path
        """The request path (leading slashes collapsed)."""
        self.headers = dict(headers)
        """The opening handshake's headers, lower-case names."""
        self.setup = dict(setup)
        """The normalised ``setup`` object (the value of the first message's ``setup`` key)."""

    @property
    def model(self) -> str | None:
        """``setup.model``, e.g. ``"models/gemini-2.0-flash-live-001"``."""
        model = self.setup.get("model")
        return model if isinstance(model, str) else None

    @property
    def close_code(self) -> int | None:
        """The close code once the WebSocket is closed (by either side), else ``None``."""
        closed = self._ws.closed
        return None if closed is None else int(closed.code)

    @property
    def close_reason(self) -> str | None:
        """The close reason text once closed (either side), else ``None``."""
        closed = self._ws.closed
        return None if closed is None else closed.reason

    async def receive(self) -> dict[str, Any] | None:
        """The next client message, normalised (camelCase keys) and recorded.

        ``None`` once the client has closed the connection. A frame that is not a JSON object
        is recorded and returned as ``{}``.
        """
        try:
            raw = await self._ws.get_message()
        except trio_websocket.ConnectionClosed:
            return None
        message = decode_message(raw)
        self._record(RecordedLiveMessage(session=self.index, message=message, raw=raw,
                                         binary=isinstance(raw, bytes),
                                         timestamp=trio.current_time()))
        return message if isinstance(message, dict) else {}

    async def send(self, message: Mapping[str, Any], *, binary: bool = True) -> None:
        """Send one server message as a binary frame of pretty JSON, as production does, or
        (``binary=False``) as a text frame of compact JSON; a no-op once closed."""
        frame: str | bytes = live_frame(message) if binary else json.dumps(message)
        try:
            await self._ws.send_message(frame)
        except (trio_websocket.ConnectionClosed, trio.BrokenResourceError,
                trio.ClosedResourceError):
            pass

    async def send_text_turn(self, text: str, *, usage: bool = True) -> None:
        """A whole model turn: one ``modelTurn`` text message, then ``turnComplete``."""
        await self.send({"serverContent": {"modelTurn": {"role": "model",
                                                         "parts": [{"text": text}]}}})
        done: dict[str, Any] = {"serverContent": {"turnComplete": True}}
        if usage:
            words = len(text.split())
            done["usageMetadata"] = {"promptTokenCount": 1, "responseTokenCount": words,
                                     "totalTokenCount": 1 + words}
        await self.send(done)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Close the WebSocket (idempotent); waits for the client's close reply.

        Bounded by the client's behaviour only: wrap it in a timeout if the client may hang.
        """
        await self._ws.aclose(code, reason)

    async def drop(self) -> None:
        """Cut the TCP connection without a close frame (the client sees 1006).

        Later ``receive`` calls return ``None`` and ``send`` does nothing.
        """
        self.dropped = True
        if self._stream is None:
            raise RuntimeError("this LiveSession was made without its stream; cannot drop it")
        await trio.aclose_forcefully(self._stream)


def decode_message(raw: str | bytes) -> Any:
    """A client frame parsed and normalised; ``None`` if it is not JSON."""
    try:
        return normalize_request(json.loads(raw))
    except (ValueError, UnicodeDecodeError):
        return None


LiveHandler: TypeAlias = Callable[[LiveSession], Awaitable[None]]
"""Runs a Live session after ``setupComplete`` was sent; returning closes it with 1000.

It runs in the connection's task; it is cancelled when the server closes. A handler object may
also have a ``check_setup(setup) -> tuple[int, str] | None`` method: it is called with the
normalised ``setup`` object before ``setupComplete``, and a ``(code, reason)`` result closes the
WebSocket with that code instead (e.g. an unknown session resumption handle)."""


def _turn_text(message: Mapping[str, Any]) -> str | None:
    """The text a client message asks the model to answer, if it completes a turn."""
    content = message.get("clientContent")
    if isinstance(content, dict):
        if not content.get("turnComplete"):
            return None
        texts = [part["text"] for turn in content.get("turns") or [] if isinstance(turn, dict)
                 if turn.get("role", "user") == "user"
                 for part in turn.get("parts") or []
                 if isinstance(part, dict) and isinstance(part.get("text"), str)]
        return " ".join(texts)
    realtime = message.get("realtimeInput")
    if isinstance(realtime, dict) and isinstance(realtime.get("text"), str):
        return str(realtime["text"])
    return None


async def echo_live_handler(session: LiveSession) -> None:
    """Echo each completed text turn (``clientContent`` with ``turnComplete``, or
    ``realtimeInput.text``) as ``"You said: ..."`` plus ``turnComplete``; other messages are only
    recorded. Returns when the client closes."""
    while (message := await session.receive()) is not None:
        text = _turn_text(message)
        if text is not None:
            await session.send_text_turn(f"You said: {text}")


@attrs.frozen(kw_only=True)
class LiveScript:
    """How the fake server runs Live connections (one script for every connection).

    ``setup_delay``: seconds (trio time) before answering ``setup``. ``answer_setup=False``: never
    answer (the server keeps reading and recording until the client leaves), for client
    timeout tests. ``close_code`` (with ``close_reason``): close the WebSocket with that code
    instead of answering ``setup``, like the service's 1007/1008/1011 refusals. ``session_id``:
    sent in ``setupComplete`` when given. ``setup_reply``: sent instead of ``setupComplete`` (a
    misbehaving server, for client tests). ``handler``: runs the session afterwards.
    """

    handler: LiveHandler = echo_live_handler
    setup_delay: float = 0.0
    answer_setup: bool = True
    close_code: int | None = None
    close_reason: str | None = None
    session_id: str | None = None
    setup_reply: Mapping[str, Any] | None = None

    def setup_complete(self) -> Mapping[str, Any]:
        """The ``setupComplete`` message this script sends (or ``setup_reply``)."""
        if self.setup_reply is not None:
            return self.setup_reply
        body: dict[str, Any] = {}
        if self.session_id is not None:
            body["sessionId"] = self.session_id
        return {"setupComplete": body}

"""What the fake server saw: one record per HTTP request and per Live client message."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs

RequestKind: TypeAlias = Literal["generateContent", "streamGenerateContent", "live", "unknown"]
"""The route a request matched: a REST model call, a Live WebSocket session, or nothing."""

KeySource: TypeAlias = Literal["header", "query", "access_token", "authorization"]
"""Where the API key came from: ``x-goog-api-key``, ``?key=``, ``?access_token=`` or
``Authorization: Token ...``."""


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request received by :class:`~trio_adk.testing.FakeGeminiServer`.

    ``body`` is the JSON body after normalisation (camelCase keys outside Struct fields, standard
    base64), or ``None`` when the body was empty or not JSON (``raw_body`` keeps the bytes). For a
    Live session the record is made once the ``setup`` message has arrived (or the client left
    without sending one); ``body`` is then the normalised first message, e.g. ``{"setup": {...}}``.
    ``headers`` has lower-case names (repeated headers joined with ``", "``); ``timestamp`` is
    ``trio.current_time()`` when the request was complete, so it follows a ``MockClock``.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    kind: RequestKind
    api_version: str | None
    model: str | None
    stream: bool
    api_key: str | None
    api_key_source: KeySource | None
    timestamp: float

    @property
    def model_id(self) -> str | None:
        """The model name without its ``models/`` prefix (tuned model names stay whole)."""
        if self.model is None:
            return None
        return self.model.removeprefix("models/")

    def texts(self) -> list[str]:
        """Every text part of the request's ``contents``, in order (a quick assertion helper)."""
        body = self.body
        if not isinstance(body, dict):
            return []
        if self.kind == "live":
            body = body.get("setup", body)
        found: list[str] = []
        for content in body.get("contents") or []:
            if isinstance(content, dict):
                for part in content.get("parts") or []:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        found.append(part["text"])
        return found


@attrs.frozen(kw_only=True)
class RecordedLiveMessage:
    """One message a Live client sent over the WebSocket (the ``setup`` message included).

    ``session`` numbers the server's Live connections from 0; ``message`` is the normalised JSON
    (or ``None`` if the frame was not JSON, ``raw`` keeps it); ``binary`` tells the frame type.
    """

    session: int
    message: Any
    raw: str | bytes
    binary: bool
    timestamp: float

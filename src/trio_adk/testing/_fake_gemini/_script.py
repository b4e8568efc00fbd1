"""Script items for the fake Gemini server: scripted replies, scripted errors and responders.

A script is a list consumed one item per model call (``generateContent`` or
``streamGenerateContent``). Each item is a :class:`GeminiReply`, a :class:`GeminiError`, a plain
``str`` (a one-part text reply) or a responder: a function of the :class:`RecordedRequest` that
returns one of the former (it may be ``async``). The ``gemini_*`` helpers build the common
replies; every field of :class:`GeminiReply` can also be set directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypedDict, Unpack

import attrs
from google.genai import types

from trio_adk.testing._fake_gemini._normalize import normalize_request
from trio_adk.testing._fake_gemini._records import RecordedRequest

Fault: TypeAlias = Literal["drop", "truncate", "malformed"]
"""A transport fault injected into a reply.

``"drop"``: the connection is closed abruptly (no end of the chunked body; for a unary reply with
``fault_after=0`` no response at all). ``"truncate"``: half of the next SSE event (or of the JSON
body) is sent, then the body ends cleanly, so only the payload is cut. ``"malformed"``: a
syntactically invalid JSON event (or body) is sent with a 200 status.
"""

PartLike: TypeAlias = Mapping[str, Any] | types.Part
"""A response part: wire JSON (either key spelling) or a ``google.genai.types.Part``."""

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_DEFAULT_MESSAGES = {
    400: "Request contains an invalid argument.",
    403: "The caller does not have permission.",
    404: "Requested entity was not found.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report the problem.",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}

RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"


def status_name(code: int) -> str:
    """The ``google.rpc.Code`` name Google sends with an HTTP status (``UNKNOWN`` if unmapped)."""
    return _STATUS_NAMES.get(code, "UNKNOWN")


def format_duration(seconds: float | str) -> str:
    """A proto-JSON ``Duration`` string: ``30`` → ``"30s"``, ``1.5`` → ``"1.5s"``."""
    if isinstance(seconds, str):
        return seconds
    text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"{text}s"


@attrs.frozen(kw_only=True)
class GeminiError:
    """A scripted error: an HTTP status with a Google error body.

    The body is ``{"error": {"code", "message", "status", "details"}}`` (``details`` only when
    non-empty); ``retry_delay`` (seconds or a Duration string) adds a ``google.rpc.RetryInfo``
    detail; ``list_wrapped`` sends the body inside a one-element JSON list; ``body`` replaces the
    whole body verbatim. Inside a :class:`GeminiReply` (``stream_error=``) the same error is sent as
    an SSE ``data:`` event after the reply's chunks. ``delay`` seconds (trio time) pass before it
    is sent.
    """

    code: int = 500
    message: str | None = None
    status: str | None = None
    details: tuple[Mapping[str, Any], ...] = ()
    retry_delay: float | str | None = None
    list_wrapped: bool = False
    body: Any = None
    delay: float = 0.0

    def error_object(self) -> dict[str, Any]:
        """The ``{"error": {...}}`` object (never list-wrapped, ignores ``body``)."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message or _DEFAULT_MESSAGES.get(self.code, "Unknown error."),
            "status": self.status or status_name(self.code),
        }
        details = [dict(detail) for detail in self.details]
        if self.retry_delay is not None:
            details.append({"@type": RETRY_INFO_TYPE,
                            "retryDelay": format_duration(self.retry_delay)})
        if details:
            error["details"] = details
        return {"error": error}

    def wire_body(self) -> Any:
        """The JSON value sent as the HTTP body."""
        if self.body is not None:
            return self.body
        obj = self.error_object()
        return [obj] if self.list_wrapped else obj


def grounding_json(
    value: Mapping[str, Any] | types.GroundingMetadata | None,
) -> dict[str, Any] | None:
    """Grounding metadata as camelCase wire JSON (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, types.GroundingMetadata):
        dumped: Any = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    elif isinstance(value, Mapping):
        dumped = dict(value)
    else:
        raise TypeError("grounding_metadata must be a mapping (wire JSON) or "
                        f"types.GroundingMetadata, got {type(value).__name__}.")
    result: dict[str, Any] = normalize_request(dumped)
    return result


@attrs.frozen(kw_only=True)
class GeminiReply:
    """A scripted successful model reply.

    ``chunks`` holds the parts of each streamed chunk (wire JSON, camelCase); a streamed call sends
    one SSE event per chunk, a unary call gets them merged into one response (adjacent text parts
    joined, as the real service does). Each response carries ``usageMetadata`` (``"auto"``: word
    counts of the request and reply; a dict: sent as given; ``None``: omitted), ``modelVersion``
    (default: the requested model) and a ``responseId``; the last chunk carries ``finish_reason``
    and ``finish_message``. ``prompt_feedback`` adds a ``promptFeedback`` (with no chunks: a
    blocked prompt, no candidates). ``responses`` replaces all of that with verbatim response
    objects, one per chunk.

    Timing, in trio time (a ``MockClock`` makes it instant): ``delay`` before the reply starts,
    ``chunk_delay`` between streamed chunks. Faults: ``stream_error`` sends a ``data: {"error":
    ...}`` event after the chunks (a unary call gets that error as its HTTP status instead);
    ``fault`` (see :data:`Fault`) strikes after ``fault_after`` complete chunks.
    """

    chunks: tuple[tuple[Mapping[str, Any], ...], ...] = ()
    responses: tuple[Mapping[str, Any], ...] | None = None
    finish_reason: str | None = "STOP"
    finish_message: str | None = None
    usage: Mapping[str, Any] | Literal["auto"] | None = "auto"
    prompt_feedback: Mapping[str, Any] | None = None
    model_version: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    stream_error: GeminiError | None = None
    fault: Fault | None = None
    fault_after: int = 0
    grounding_metadata: Mapping[str, Any] | None = attrs.field(
        default=None, converter=grounding_json)


ReplyItem: TypeAlias = GeminiReply | GeminiError | str
"""What a model call is answered with; a ``str`` is a one-part text reply."""

Responder: TypeAlias = Callable[[RecordedRequest], ReplyItem | Awaitable[ReplyItem]]
"""Computes the answer to a model call from the recorded request; may be ``async``.

It runs in the connection's task inside the server's nursery: it may sleep or wait on events,
and it is cancelled when the server closes (the connection is dropped then)."""

ScriptItem: TypeAlias = ReplyItem | Responder
"""One entry of a :class:`~trio_adk.testing.FakeGeminiServer` script."""


class ReplyOptions(TypedDict, total=False):
    """The keyword options every ``gemini_*`` reply helper accepts (fields of GeminiReply)."""

    finish_reason: str | None
    finish_message: str | None
    usage: Mapping[str, Any] | Literal["auto"] | None
    model_version: str | None
    delay: float
    chunk_delay: float
    stream_error: GeminiError | None
    fault: Fault | None
    fault_after: int
    grounding_metadata: Mapping[str, Any] | types.GroundingMetadata | None


def part_json(part: PartLike | str) -> dict[str, Any]:
    """A response part as camelCase wire JSON (a ``str`` is a text part)."""
    if isinstance(part, str):
        return {"text": part}
    if isinstance(part, types.Part):
        dumped: Any = part.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        dumped = dict(part)
    result: dict[str, Any] = normalize_request(dumped)
    return result


def gemini_text(text: str, **options: Unpack[ReplyOptions]) -> GeminiReply:
    """A reply with one text part, sent as one chunk."""
    return GeminiReply(chunks=(({"text": text},),), **options)


def gemini_chunks(pieces: Sequence[str | PartLike], **options: Unpack[ReplyOptions]) -> GeminiReply:
    """A reply streamed as one chunk per piece (text or any part); unary calls get them merged."""
    return GeminiReply(chunks=tuple((part_json(piece),) for piece in pieces), **options)


def gemini_function_call(name: str, args: Mapping[str, Any] | None = None, *, id: str | None = None,
                         **options: Unpack[ReplyOptions]) -> GeminiReply:
    """A reply calling one function (the Gemini API sends no ``id`` unless you give one)."""
    call: dict[str, Any] = {"name": name, "args": dict(args or {})}
    if id is not None:
        call["id"] = id
    return GeminiReply(chunks=(({"functionCall": call},),), **options)


def gemini_function_calls(*calls: tuple[str, Mapping[str, Any]],
                          **options: Unpack[ReplyOptions]) -> GeminiReply:
    """A reply calling several functions at once, in one chunk: ``("name", {args}), ...``."""
    parts = tuple({"functionCall": {"name": name, "args": dict(args)}} for name, args in calls)
    return GeminiReply(chunks=(parts,), **options)


def gemini_parts(*parts: PartLike | str, **options: Unpack[ReplyOptions]) -> GeminiReply:
    """A reply with several parts of any kind (text, thoughts, calls, inline data) in one chunk."""
    return GeminiReply(chunks=(tuple(part_json(part) for part in parts),), **options)


def gemini_responses(*responses: Mapping[str, Any] | types.GenerateContentResponse,
                     **options: Unpack[ReplyOptions]) -> GeminiReply:
    """A reply made of verbatim ``GenerateContentResponse`` objects, one per streamed chunk."""
    dumped: list[Mapping[str, Any]] = []
    for response in responses:
        if isinstance(response, types.GenerateContentResponse):
            dumped.append(response.model_dump(mode="json", by_alias=True, exclude_none=True))
        else:
            dumped.append(response)
    return GeminiReply(responses=tuple(dumped), **options)


def gemini_blocked(reason: str = "SAFETY", *, message: str | None = None,
                   **options: Unpack[ReplyOptions]) -> GeminiReply:
    """A blocked prompt: ``promptFeedback.blockReason`` and no candidates."""
    feedback: dict[str, Any] = {"blockReason": reason}
    if message is not None:
        feedback["blockReasonMessage"] = message
    options.setdefault("finish_reason", None)
    return GeminiReply(prompt_feedback=feedback, **options)


def gemini_error(code: int = 500, message: str | None = None, *, status: str | None = None,
                 details: Sequence[Mapping[str, Any]] = (), retry_delay: float | str | None = None,
                 list_wrapped: bool = False, delay: float = 0.0) -> GeminiError:
    """An HTTP error with a Google error body; see :class:`GeminiError`."""
    return GeminiError(code=code, message=message, status=status, details=tuple(details),
                       retry_delay=retry_delay, list_wrapped=list_wrapped, delay=delay)

"""Deterministic model doubles: ScriptedModel and FunctionModel."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, TypeAlias

import attrs
import trio
from google.genai import types
from pydantic import PrivateAttr

from trio_adk._usercode._host import call_user, native
from trio_adk.models._base_llm import BaseLlm
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse


class ScriptExhaustedError(AssertionError):
    """A scripted model was called more often than its script has replies."""


@attrs.frozen(kw_only=True)
class Reply:
    """One scripted model reply.

    Exactly one of ``text``/``parts``/``response``/``error`` says what happens; ``chunks``
    splits a text reply into streamed fragments; ``delay`` waits (in trio time, so a
    ``MockClock`` makes it instant) before answering, and ``chunk_delay`` between chunks.
    """

    text: str | None = None
    parts: tuple[types.Part, ...] | None = None
    chunks: tuple[str, ...] | None = None
    response: LlmResponse | None = None
    error: BaseException | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0


def text(value: str, *, delay: float = 0.0) -> Reply:
    """A reply with one text part."""
    return Reply(text=value, delay=delay)


def chunks(pieces: Sequence[str], *, delay: float = 0.0, chunk_delay: float = 0.0) -> Reply:
    """A text reply streamed as ``pieces`` (joined when the run does not stream)."""
    return Reply(chunks=tuple(pieces), delay=delay, chunk_delay=chunk_delay)


def function_call(name: str, args: dict[str, Any] | None = None, *, id: str | None = None,
                  delay: float = 0.0) -> Reply:
    """A reply that calls one function."""
    call = types.FunctionCall(name=name, args=args or {}, id=id)
    return Reply(parts=(types.Part(function_call=call),), delay=delay)


def function_calls(*calls: tuple[str, dict[str, Any]], delay: float = 0.0) -> Reply:
    """A reply that calls several functions at once: ``("name", {args}), ...``."""
    parts = tuple(types.Part(function_call=types.FunctionCall(name=n, args=a)) for n, a in calls)
    return Reply(parts=parts, delay=delay)


def error(exc: BaseException, *, delay: float = 0.0) -> Reply:
    """A model call that raises ``exc``."""
    return Reply(error=exc, delay=delay)


ReplyLike: TypeAlias = Reply | str | LlmResponse | types.Content | BaseException


def _as_reply(item: ReplyLike) -> Reply:
    if isinstance(item, Reply):
        return item
    if isinstance(item, str):
        return Reply(text=item)
    if isinstance(item, LlmResponse):
        return Reply(response=item)
    if isinstance(item, types.Content):
        return Reply(parts=tuple(item.parts or ()))
    if isinstance(item, BaseException):
        return Reply(error=item)
    raise TypeError(f"Cannot use {item!r} as a scripted reply: use trio_adk.testing.text(), "
                    "function_call(), chunks(), error(), an LlmResponse or a Content.")


def _model_content(parts: list[types.Part]) -> types.Content:
    # Shallow copies of already-validated parts: every reply gets fresh objects, without
    # paying pydantic validation per reply.
    return types.Content.model_construct(role="model", parts=parts)


def _text_part(value: str) -> types.Part:
    return _EMPTY_PART.model_copy(update={"text": value})


_EMPTY_PART = types.Part()


async def _play(reply: Reply, stream: bool) -> AsyncGenerator[LlmResponse, None]:
    if reply.delay:
        await trio.sleep(reply.delay)
    if reply.error is not None:
        raise reply.error
    if reply.response is not None:
        yield reply.response
        return
    if reply.chunks is not None:
        if stream:
            for index, piece in enumerate(reply.chunks):
                if index and reply.chunk_delay:
                    await trio.sleep(reply.chunk_delay)
                yield LlmResponse(content=_model_content([_text_part(piece)]), partial=True)
        yield LlmResponse(content=_model_content([_text_part("".join(reply.chunks))]),
                          turn_complete=True if stream else None,
                          finish_reason=types.FinishReason.STOP)
        return
    if reply.parts is not None:
        content = _model_content([p.model_copy(deep=True) for p in reply.parts])
    else:
        content = _model_content([_text_part(reply.text or "")])
    if stream:
        yield LlmResponse(content=content, partial=True)
        content = content.model_copy(deep=True)
    yield LlmResponse(content=content, finish_reason=types.FinishReason.STOP)


class ScriptedModel(BaseLlm):
    """A model that answers from a script, one reply per call, and records requests.

    ``replies`` items may be ``Reply`` objects (see :func:`text`, :func:`chunks`,
    :func:`function_call`, :func:`function_calls`, :func:`error`), plain strings (text),
    ``LlmResponse``, ``types.Content`` or exceptions (raised).  Calling it more often than
    the script allows raises :class:`ScriptExhaustedError`.  With ``repeat=True`` the
    script loops forever.  In streaming runs a reply arrives as partial chunks followed by
    one aggregated final response, as Gemini's SSE does.  Delays use trio's clock.

    Example::

        model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "3"])
        agent = Agent(name="calc", model=model, tools=[add])
    """

    model: str = "scripted"
    replies: list[Any] = []
    repeat: bool = False

    _requests: list[LlmRequest] = PrivateAttr(default_factory=list)
    _position: int = PrivateAttr(default=0)

    @property
    def requests(self) -> list[LlmRequest]:
        """Every request received, in order."""
        return self._requests

    @property
    def calls(self) -> int:
        """How many times the model was called."""
        return len(self._requests)

    def assert_complete(self) -> None:
        """Fail unless every scripted reply was used."""
        if not self.repeat and self._position != len(self.replies):
            raise AssertionError(
                f"ScriptedModel used {self._position} of {len(self.replies)} replies.")

    @native
    def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self._requests.append(llm_request)
        if self._position >= len(self.replies):
            if not self.repeat or not self.replies:
                return _play(Reply(error=ScriptExhaustedError(
                    f"ScriptedModel was called {len(self._requests)} times but its script "
                    f"has {len(self.replies)} replies. Add replies or pass repeat=True.")),
                    stream)
            self._position = 0
        reply = _as_reply(self.replies[self._position])
        self._position += 1
        return _play(reply, stream)


ModelFunction: TypeAlias = Callable[[LlmRequest], ReplyLike | Awaitable[ReplyLike]]


class FunctionModel(BaseLlm):
    """A model whose replies come from a function of the request.

    ``function(llm_request)`` returns (or awaits to) anything a :class:`ScriptedModel`
    accepts as a reply.  Use it to answer based on what the agent sent, for example to
    call a tool only when the user asks for it.
    """

    model: str = "function"
    function: Callable[..., Any]

    _requests: list[LlmRequest] = PrivateAttr(default_factory=list)

    @property
    def requests(self) -> list[LlmRequest]:
        """Every request received, in order."""
        return self._requests

    @native
    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self._requests.append(llm_request)
        result = await call_user(self.function, llm_request)  # on the caller's library
        async for response in _play(_as_reply(result), stream):
            yield response

"""BaseLlm and BaseLlmConnection: what a model implementation provides."""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from google.genai import types
from pydantic import BaseModel, ConfigDict

from trio_adk._usercode._host import native

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.models._llm_response import LlmResponse


class BaseLlm(BaseModel):
    """A model that an ``LlmAgent`` can call.

    Subclasses implement :meth:`generate_content_async` as an async generator: one
    ``LlmResponse`` when ``stream`` is false, partial chunks then one aggregated
    response when it is true.  Like ADK's, this is a pydantic model, so subclasses may
    declare fields.  It runs inside a trio task; cancellation arrives at any ``await``
    and the generator is closed by the caller.  Implementations must not keep a cancel
    scope or nursery open across ``yield``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str

    @classmethod
    def supported_models(cls) -> list[str]:
        """Regular expressions of the model names this class serves (for LLMRegistry)."""
        return []

    @abc.abstractmethod
    def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """Call the model; yield one response, or partial chunks then a final one."""
        raise NotImplementedError

    def connect(self, llm_request: LlmRequest) -> AbstractAsyncContextManager[BaseLlmConnection]:
        """Open a live (bidirectional) connection; must be used with ``async with``."""
        raise NotImplementedError(f"Live connection is not supported for {self.model}.")

    @native
    async def aclose(self) -> None:
        """Release resources (HTTP clients); called by ``Runner.close()``.  Idempotent.

        Called in a shielded scope with a deadline; requests still in flight on other
        runners sharing this model should be allowed to finish.
        """


class BaseLlmConnection(abc.ABC):
    """A live connection to a model (see ``Runner.run_live``)."""

    @abc.abstractmethod
    async def send_history(self, history: list[types.Content]) -> None:
        """Send the conversation so far, once, at the start of the connection."""

    @abc.abstractmethod
    async def send_content(self, content: types.Content) -> None:
        """Send a user turn (or tool responses)."""

    @abc.abstractmethod
    async def send_realtime(self, input: Any) -> None:
        """Send realtime input: a media ``Blob``, ``ActivityStart`` or ``ActivityEnd``."""

    @abc.abstractmethod
    def receive(self) -> AsyncGenerator[LlmResponse, None]:
        """Yield responses as the model sends them."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the connection politely.  Idempotent."""

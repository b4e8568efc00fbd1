"""BasePlanner: what a planner adds to a model request and does to the response."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from google.genai import types

if TYPE_CHECKING:
    from trio_adk.agents._callback_context import CallbackContext, ReadonlyContext
    from trio_adk.models._llm_request import LlmRequest


class BasePlanner(abc.ABC):
    """A planner shapes how an ``LlmAgent``'s model plans before it acts.

    Set one as ``LlmAgent(planner=...)``.  Before each model call the engine asks
    :meth:`build_planning_instruction` for text to add to the system instruction; after
    each model response (streamed chunks included, after the after-model callbacks) it
    passes the response's parts to :meth:`process_planning_response`, whose result, when
    not empty, replaces them.  Both are plain (sync) methods, called in the run's task:
    keep them quick, they cannot be cancelled part way.
    """

    @abc.abstractmethod
    def build_planning_instruction(
        self, readonly_context: ReadonlyContext, llm_request: LlmRequest
    ) -> str | None:
        """Text appended to the system instruction of the next model call, or ``None``.

        ``llm_request`` is the request built so far (instructions and contents); read it,
        do not change it.
        """

    @abc.abstractmethod
    def process_planning_response(
        self, callback_context: CallbackContext, response_parts: list[types.Part]
    ) -> list[types.Part] | None:
        """The parts to keep from a model response, or ``None`` (or ``[]``) to leave
        ``response_parts`` as they are.  State changes made through ``callback_context``
        are emitted as an event of their own before the response's event."""

"""BuiltInPlanner: use the model's own thinking, configured by a ThinkingConfig."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk.planners._base_planner import BasePlanner

if TYPE_CHECKING:
    from trio_adk.agents._callback_context import CallbackContext, ReadonlyContext
    from trio_adk.models._llm_request import LlmRequest

_log = logging.getLogger(__name__)


class BuiltInPlanner(BasePlanner):
    """Plans with the model's built-in thinking: each request of the agent gets
    ``config.thinking_config = thinking_config`` (replacing one set in the agent's
    ``generate_content_config``).  Adds no instruction and leaves responses as they
    are.  A model without thinking support rejects the request with its own error.
    """

    thinking_config: types.ThinkingConfig
    """The thinking settings sent with every model call of the agent."""

    def __init__(self, *, thinking_config: types.ThinkingConfig | dict[str, Any]) -> None:
        """``thinking_config``: a ``types.ThinkingConfig`` (or a dict of its fields)."""
        if isinstance(thinking_config, dict):
            thinking_config = types.ThinkingConfig.model_validate(thinking_config)
        if not isinstance(thinking_config, types.ThinkingConfig):
            raise TypeError(
                "BuiltInPlanner(thinking_config=...) must be a google.genai.types."
                f"ThinkingConfig, got {type(thinking_config).__name__}."
            )
        self.thinking_config = thinking_config

    def apply_thinking_config(self, llm_request: LlmRequest) -> None:
        """Set ``llm_request.config.thinking_config`` to this planner's (a copy)."""
        if llm_request.config.thinking_config is not None:
            _log.debug("BuiltInPlanner replaces the thinking_config of "
                       "generate_content_config.")
        llm_request.config.thinking_config = self.thinking_config.model_copy(deep=True)

    def build_planning_instruction(
        self, readonly_context: ReadonlyContext, llm_request: LlmRequest
    ) -> str | None:
        """None: built-in thinking needs no instruction."""
        return None

    def process_planning_response(
        self, callback_context: CallbackContext, response_parts: list[types.Part]
    ) -> list[types.Part] | None:
        """None: the model marks its own thoughts."""
        return None

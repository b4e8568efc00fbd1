"""Grounding from an agent called as a tool, carried onto the caller's model responses.

An ``AgentTool`` with ``propagate_grounding_metadata=True`` (``GoogleSearchAgentTool``
among them) leaves the child's last grounding metadata in the invocation's state under
``temp:_adk_grounding_metadata``.  As in ADK, every later model response of an agent whose
request offers such a tool then carries that grounding metadata, so the sources of a
search done by a search agent reach the caller's events.  Pure; any thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from google.genai import types

if TYPE_CHECKING:
    from trio_adk.models._llm_response import LlmResponse
    from trio_adk.tools._base_tool import BaseTool

GROUNDING_STATE_KEY = "temp:_adk_grounding_metadata"
"""The state key an ``AgentTool`` leaves its child's grounding metadata under."""


def with_propagated_grounding(
    tools: Mapping[str, BaseTool], state: Mapping[str, Any], response: LlmResponse
) -> LlmResponse:
    """``response`` with the propagated grounding metadata, when one of ``tools`` asks
    for it and the state holds some; otherwise ``response`` itself."""
    if not any(getattr(tool, "propagate_grounding_metadata", False) is True
               for tool in tools.values()):
        return response
    grounding = state.get(GROUNDING_STATE_KEY)
    if not grounding:
        return response
    if isinstance(grounding, Mapping):  # read back from a session store as JSON
        grounding = types.GroundingMetadata.model_validate(grounding)
    if not isinstance(grounding, types.GroundingMetadata):
        return response
    return attrs.evolve(response, grounding_metadata=grounding)

"""ADK-compatible import path.

Re-exports for ``google.adk.models.anthropic_llm``: ``Claude`` and ``AnthropicLlm`` call
Claude through the Anthropic Messages API (Vertex AI is not supported yet).
"""

from trio_adk.models._anthropic import AnthropicLlm as AnthropicLlm
from trio_adk.models._anthropic import Claude as Claude
from trio_adk.models._anthropic_wire import (
    AnthropicGenerateContentConfig as AnthropicGenerateContentConfig,
)

__all__ = ["AnthropicGenerateContentConfig", "AnthropicLlm", "Claude"]

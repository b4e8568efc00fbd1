"""Models: the request/response types and the registry that resolves model names."""

from trio_adk.errors import LiveConnectionClosedError as LiveConnectionClosedError
from trio_adk.errors import LiveTimeoutError as LiveTimeoutError
from trio_adk.models._anthropic import AnthropicLlm as AnthropicLlm
from trio_adk.models._anthropic import Claude as Claude
from trio_adk.models._anthropic_wire import (
    AnthropicGenerateContentConfig as AnthropicGenerateContentConfig,
)
from trio_adk.models._base_llm import BaseLlm as BaseLlm
from trio_adk.models._base_llm import BaseLlmConnection as BaseLlmConnection
from trio_adk.models._gemini import Gemini as Gemini
from trio_adk.models._gemini_live import GeminiLiveOptions as GeminiLiveOptions
from trio_adk.models._lite_llm import LiteLlm as LiteLlm
from trio_adk.models._llm_request import LlmRequest as LlmRequest
from trio_adk.models._llm_response import LlmResponse as LlmResponse
from trio_adk.models._registry import LLMRegistry as LLMRegistry

__all__ = [
    "AnthropicGenerateContentConfig",
    "AnthropicLlm",
    "BaseLlm",
    "BaseLlmConnection",
    "Claude",
    "Gemini",
    "GeminiLiveOptions",
    "LLMRegistry",
    "LiteLlm",
    "LiveConnectionClosedError",
    "LiveTimeoutError",
    "LlmRequest",
    "LlmResponse",
]

"""Test support: deterministic model doubles (no network, virtual-time friendly) and a fake
Gemini server on loopback (:class:`FakeGeminiServer`) that speaks the real wire protocols, and a
fake OpenAI-compatible Chat Completions server (:class:`FakeOpenAIServer`) and a fake Anthropic
Messages API server (:class:`FakeAnthropicServer`)."""

from trio_adk.testing import live_script as live_script
from trio_adk.testing._fake_anthropic._records import (
    RecordedAnthropicRequest as RecordedAnthropicRequest,
)
from trio_adk.testing._fake_anthropic._script import AnthropicError as AnthropicError
from trio_adk.testing._fake_anthropic._script import AnthropicReply as AnthropicReply
from trio_adk.testing._fake_anthropic._script import anthropic_error as anthropic_error
from trio_adk.testing._fake_anthropic._script import anthropic_text as anthropic_text
from trio_adk.testing._fake_anthropic._script import anthropic_tool_use as anthropic_tool_use
from trio_adk.testing._fake_anthropic._script import anthropic_tool_uses as anthropic_tool_uses
from trio_adk.testing._fake_anthropic._server import FakeAnthropicServer as FakeAnthropicServer
from trio_adk.testing._fake_gemini._live import LiveHandler as LiveHandler
from trio_adk.testing._fake_gemini._live import LiveScript as LiveScript
from trio_adk.testing._fake_gemini._live import LiveSession as LiveSession
from trio_adk.testing._fake_gemini._live import echo_live_handler as echo_live_handler
from trio_adk.testing._fake_gemini._live_script import LiveContext as LiveContext
from trio_adk.testing._fake_gemini._live_script import LiveConversation as LiveConversation
from trio_adk.testing._fake_gemini._live_script import LiveTurn as LiveTurn
from trio_adk.testing._fake_gemini._records import RecordedLiveMessage as RecordedLiveMessage
from trio_adk.testing._fake_gemini._records import RecordedRequest as RecordedRequest
from trio_adk.testing._fake_gemini._responder import builtin_responder as builtin_responder
from trio_adk.testing._fake_gemini._script import Fault as Fault
from trio_adk.testing._fake_gemini._script import GeminiError as GeminiError
from trio_adk.testing._fake_gemini._script import GeminiReply as GeminiReply
from trio_adk.testing._fake_gemini._script import Responder as Responder
from trio_adk.testing._fake_gemini._script import ScriptItem as ScriptItem
from trio_adk.testing._fake_gemini._script import gemini_blocked as gemini_blocked
from trio_adk.testing._fake_gemini._script import gemini_chunks as gemini_chunks
from trio_adk.testing._fake_gemini._script import gemini_error as gemini_error
from trio_adk.testing._fake_gemini._script import gemini_function_call as gemini_function_call
from trio_adk.testing._fake_gemini._script import gemini_function_calls as gemini_function_calls
from trio_adk.testing._fake_gemini._script import gemini_parts as gemini_parts
from trio_adk.testing._fake_gemini._script import gemini_responses as gemini_responses
from trio_adk.testing._fake_gemini._script import gemini_text as gemini_text
from trio_adk.testing._fake_gemini._server import FakeGeminiServer as FakeGeminiServer
from trio_adk.testing._fake_openai import FakeOpenAIServer as FakeOpenAIServer
from trio_adk.testing._fake_openai import OpenAIError as OpenAIError
from trio_adk.testing._fake_openai import OpenAIReply as OpenAIReply
from trio_adk.testing._fake_openai import OpenAIRequest as OpenAIRequest
from trio_adk.testing._fake_openai import OpenAIToolCall as OpenAIToolCall
from trio_adk.testing._fake_openai import echo_responder as echo_responder
from trio_adk.testing._fake_openai import openai_chunks as openai_chunks
from trio_adk.testing._fake_openai import openai_error as openai_error
from trio_adk.testing._fake_openai import openai_text as openai_text
from trio_adk.testing._fake_openai import openai_tool_call as openai_tool_call
from trio_adk.testing._fake_openai import openai_tool_calls as openai_tool_calls
from trio_adk.testing._models import FunctionModel as FunctionModel
from trio_adk.testing._models import Reply as Reply
from trio_adk.testing._models import ScriptedModel as ScriptedModel
from trio_adk.testing._models import ScriptExhaustedError as ScriptExhaustedError
from trio_adk.testing._models import chunks as chunks
from trio_adk.testing._models import error as error
from trio_adk.testing._models import function_call as function_call
from trio_adk.testing._models import function_calls as function_calls
from trio_adk.testing._models import text as text

__all__ = [
    "AnthropicError",
    "AnthropicReply",
    "FakeAnthropicServer",
    "FakeGeminiServer",
    "FakeOpenAIServer",
    "Fault",
    "FunctionModel",
    "GeminiError",
    "GeminiReply",
    "LiveContext",
    "LiveConversation",
    "LiveHandler",
    "LiveScript",
    "LiveSession",
    "LiveTurn",
    "OpenAIError",
    "OpenAIReply",
    "OpenAIRequest",
    "OpenAIToolCall",
    "RecordedAnthropicRequest",
    "RecordedLiveMessage",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptExhaustedError",
    "ScriptItem",
    "ScriptedModel",
    "anthropic_error",
    "anthropic_text",
    "anthropic_tool_use",
    "anthropic_tool_uses",
    "builtin_responder",
    "chunks",
    "echo_live_handler",
    "echo_responder",
    "error",
    "function_call",
    "function_calls",
    "gemini_blocked",
    "gemini_chunks",
    "gemini_error",
    "gemini_function_call",
    "gemini_function_calls",
    "gemini_parts",
    "gemini_responses",
    "gemini_text",
    "live_script",
    "openai_chunks",
    "openai_error",
    "openai_text",
    "openai_tool_call",
    "openai_tool_calls",
    "text",
]

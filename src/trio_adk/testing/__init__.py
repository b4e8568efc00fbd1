"""Test support: deterministic model doubles (no network, virtual-time friendly)."""

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
    "FunctionModel",
    "Reply",
    "ScriptExhaustedError",
    "ScriptedModel",
    "chunks",
    "error",
    "function_call",
    "function_calls",
    "text",
]

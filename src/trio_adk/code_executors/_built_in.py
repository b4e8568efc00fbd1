"""BuiltInCodeExecutor: Gemini writes and runs the code itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk.code_executors._base import BaseCodeExecutor
from trio_adk.tools._gemini_models import add_builtin_tool

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest


class BuiltInCodeExecutor(BaseCodeExecutor):
    """The model's own code execution: ``LlmAgent(code_executor=BuiltInCodeExecutor())``.

    Before each model call the agent's request gets
    ``types.Tool(code_execution=types.ToolCodeExecution())`` (Gemini models only; any
    other model raises ``ValueError`` before the call).  The model sends back its code
    (``executable_code`` parts) and their output (``code_execution_result`` parts) in
    the reply's content; nothing runs locally.
    """

    def execute_code(self, invocation_context: Any, code_execution_input: Any) -> None:
        """Nothing to run here: the model executed the code.  Returns ``None``."""
        return None

    def process_llm_request(self, llm_request: LlmRequest) -> None:
        """Add Gemini's code execution tool to ``llm_request`` (pure, any thread).

        Raises ``ValueError`` when the request's model is not a Gemini model.
        """
        add_builtin_tool(llm_request, types.Tool(code_execution=types.ToolCodeExecution()),
                         "Gemini code execution tool")

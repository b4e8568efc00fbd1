"""BaseCodeExecutor: what runs the code a model writes, and how code is found in replies."""

from __future__ import annotations

import abc
from typing import Any

from pydantic import BaseModel


class BaseCodeExecutor(BaseModel, abc.ABC):
    """The base of code executors, with ADK's settings.

    ``optimize_data_file`` (attach CSV files of the request to the executor),
    ``stateful``, ``error_retry_attempts``, ``code_block_delimiters``,
    ``execution_result_delimiters`` and ``timeout_seconds`` are kept for ADK code that
    sets them.  trio-adk runs only :class:`BuiltInCodeExecutor` (the model executes the
    code); an ``LlmAgent`` given any other executor raises ``ValueError`` when built.
    """

    optimize_data_file: bool = False
    """Attach the request's CSV files to the executor (not used by the built-in one)."""
    stateful: bool = False
    """Whether executions share state."""
    error_retry_attempts: int = 2
    """How many consecutive failed executions are retried."""
    code_block_delimiters: list[tuple[str, str]] = [
        ("```tool_code\n", "\n```"),
        ("```python\n", "\n```"),
    ]
    """Opening and closing fences that mark a code block in a model reply."""
    execution_result_delimiters: tuple[str, str] = ("```tool_output\n", "\n```")
    """Fences put around an execution's output."""
    timeout_seconds: int | None = None
    """How long one execution may take (``None``: no limit)."""

    @abc.abstractmethod
    def execute_code(self, invocation_context: Any, code_execution_input: Any) -> Any:
        """Run the code of ``code_execution_input`` and return its result."""

"""ADK-compatible import path.

Re-exports for ``google.adk.code_executors.base_code_executor``.
"""

from trio_adk.code_executors._base import BaseCodeExecutor as BaseCodeExecutor

__all__ = ["BaseCodeExecutor"]

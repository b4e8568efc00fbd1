"""ADK-compatible import path.

Re-exports for ``google.adk.code_executors.built_in_code_executor``.
"""

from trio_adk.code_executors._built_in import BuiltInCodeExecutor as BuiltInCodeExecutor

__all__ = ["BuiltInCodeExecutor"]

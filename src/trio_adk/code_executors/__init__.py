"""Code executors: who runs the code a model writes (in trio-adk, the model itself)."""

from trio_adk.code_executors._base import BaseCodeExecutor as BaseCodeExecutor
from trio_adk.code_executors._built_in import BuiltInCodeExecutor as BuiltInCodeExecutor

__all__ = ["BaseCodeExecutor", "BuiltInCodeExecutor"]

"""Code executors: who runs the code a model writes (in trio-adk, the model itself)."""

from trio_adk._not_provided import names_not_provided
from trio_adk.code_executors._base import BaseCodeExecutor as BaseCodeExecutor
from trio_adk.code_executors._built_in import BuiltInCodeExecutor as BuiltInCodeExecutor

__all__ = ["BaseCodeExecutor", "BuiltInCodeExecutor"]

# ADK names trio-adk lacks: importing one says so.
__getattr__ = names_not_provided("trio_adk.code_executors", frozenset({
    'AgentEngineSandboxCodeExecutor', 'CodeExecutorContext', 'ContainerCodeExecutor',
    'GkeCodeExecutor', 'UnsafeLocalCodeExecutor', 'VertexAiCodeExecutor',
}))


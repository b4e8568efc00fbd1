"""The runners: ``Runner`` and the development ``InMemoryRunner``, what their runs return,
and batch types."""

from trio_adk._batch import BatchRequest as BatchRequest
from trio_adk._batch import BatchResult as BatchResult
from trio_adk._run_result import RunResult as RunResult
from trio_adk._run_result import TextStream as TextStream
from trio_adk._runner import InMemoryRunner as InMemoryRunner
from trio_adk._runner import Runner as Runner

__all__ = ["BatchRequest", "BatchResult", "InMemoryRunner", "RunResult", "Runner",
           "TextStream"]

"""The runners: ``Runner`` and the development ``InMemoryRunner``."""

from trio_adk._runner import InMemoryRunner as InMemoryRunner
from trio_adk._runner import Runner as Runner

__all__ = ["InMemoryRunner", "Runner"]

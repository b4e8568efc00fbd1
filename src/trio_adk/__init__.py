"""trio-adk: a trio-native engine for agents, speaking the Runner API of Google's ADK.

Port ADK code by importing from ``trio_adk`` instead of ``google.adk``.
"""

from trio_adk._not_provided import install as _install_not_provided_finder
from trio_adk._runner import InMemoryRunner as InMemoryRunner
from trio_adk._runner import Runner as Runner
from trio_adk.agents._llm_agent import Agent as Agent

__all__ = ["Agent", "InMemoryRunner", "Runner"]
__version__ = "0.1.0"

# ``import trio_adk.models.lite_llm`` and other ADK modules trio-adk lacks: a clear error.
_install_not_provided_finder()

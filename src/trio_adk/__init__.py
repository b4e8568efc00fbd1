"""trio-adk: a trio-native engine for agents, speaking the Runner API of Google's ADK.

Port ADK code by importing from ``trio_adk`` instead of ``google.adk``.
"""

from trio_adk._not_provided import install as _install_not_provided_finder
from trio_adk._not_provided import names_not_provided as _names_not_provided
from trio_adk._runner import InMemoryRunner as InMemoryRunner
from trio_adk._runner import Runner as Runner
from trio_adk.agents._llm_agent import Agent as Agent
from trio_adk.events._event import Event as Event

__all__ = ["Agent", "Event", "InMemoryRunner", "Runner"]
__version__ = "0.1.0"

# ``import trio_adk.models.lite_llm`` and other ADK modules trio-adk lacks: a clear error.
_install_not_provided_finder()

# ADK 2.x names at the package root that trio-adk lacks: importing one says so.
__getattr__ = _names_not_provided("trio_adk", frozenset({"Context", "Workflow"}))

"""ADK-compatible import path.

Re-exports for ``google.adk.planners.base_planner``.
"""

from trio_adk.planners._base_planner import BasePlanner as BasePlanner

__all__ = ["BasePlanner"]

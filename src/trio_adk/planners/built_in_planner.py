"""ADK-compatible import path.

Re-exports for ``google.adk.planners.built_in_planner``.
"""

from trio_adk.planners._built_in_planner import BuiltInPlanner as BuiltInPlanner

__all__ = ["BuiltInPlanner"]

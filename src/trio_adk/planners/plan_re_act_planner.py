"""ADK-compatible import path.

Re-exports for ``google.adk.planners.plan_re_act_planner``.
"""

from trio_adk.planners._plan_re_act_planner import ACTION_TAG as ACTION_TAG
from trio_adk.planners._plan_re_act_planner import FINAL_ANSWER_TAG as FINAL_ANSWER_TAG
from trio_adk.planners._plan_re_act_planner import PLANNING_TAG as PLANNING_TAG
from trio_adk.planners._plan_re_act_planner import REASONING_TAG as REASONING_TAG
from trio_adk.planners._plan_re_act_planner import REPLANNING_TAG as REPLANNING_TAG
from trio_adk.planners._plan_re_act_planner import PlanReActPlanner as PlanReActPlanner

__all__ = [
    "ACTION_TAG",
    "FINAL_ANSWER_TAG",
    "PLANNING_TAG",
    "REASONING_TAG",
    "REPLANNING_TAG",
    "PlanReActPlanner",
]

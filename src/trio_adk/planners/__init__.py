"""Planners: make an ``LlmAgent``'s model plan before it acts (``LlmAgent.planner``)."""

from trio_adk.planners._base_planner import BasePlanner as BasePlanner
from trio_adk.planners._built_in_planner import BuiltInPlanner as BuiltInPlanner
from trio_adk.planners._plan_re_act_planner import PlanReActPlanner as PlanReActPlanner

__all__ = ["BasePlanner", "BuiltInPlanner", "PlanReActPlanner"]

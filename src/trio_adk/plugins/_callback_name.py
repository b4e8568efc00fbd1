"""PluginCallbackName: the names of the callbacks a plugin may implement."""

from __future__ import annotations

from typing import Literal, TypeAlias

PluginCallbackName: TypeAlias = Literal[
    "on_user_message_callback",
    "before_run_callback",
    "after_run_callback",
    "on_event_callback",
    "before_agent_callback",
    "after_agent_callback",
    "before_tool_callback",
    "after_tool_callback",
    "before_model_callback",
    "after_model_callback",
    "on_tool_error_callback",
    "on_model_error_callback",
]
"""The ``BasePlugin`` callback method names the plugin manager calls."""

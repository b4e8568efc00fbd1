"""Plugins: callbacks applied across every agent, model call and tool call of a Runner."""

from trio_adk.plugins._base_plugin import BasePlugin as BasePlugin
from trio_adk.plugins._logging_plugin import LoggingPlugin as LoggingPlugin
from trio_adk.plugins._plugin_manager import PluginManager as PluginManager

__all__ = [
    "BasePlugin",
    "LoggingPlugin",
    "PluginManager",
]

"""ADK-compatible import path.

Re-exports for ``google.adk.plugins.plugin_manager``.
"""

from trio_adk.plugins._callback_name import PluginCallbackName as PluginCallbackName
from trio_adk.plugins._plugin_manager import PluginManager as PluginManager

__all__ = ["PluginCallbackName", "PluginManager"]

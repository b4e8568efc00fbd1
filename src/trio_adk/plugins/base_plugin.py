"""ADK-compatible import path.

Re-exports for ``google.adk.plugins.base_plugin``.
"""

from trio_adk.plugins._base_plugin import BasePlugin as BasePlugin

__all__ = ["BasePlugin"]

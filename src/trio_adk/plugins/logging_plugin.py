"""ADK-compatible import path.

Re-exports for ``google.adk.plugins.logging_plugin``.
"""

from trio_adk.plugins._logging_plugin import LoggingPlugin as LoggingPlugin

__all__ = ["LoggingPlugin"]

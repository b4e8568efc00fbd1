"""ADK-compatible import path.

Re-exports for ``google.adk.tools.example_tool``.
"""

from trio_adk.tools._example_tool import ExampleTool as ExampleTool

__all__ = ["ExampleTool"]

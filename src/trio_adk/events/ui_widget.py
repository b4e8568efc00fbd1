"""ADK-compatible import path.

Re-exports for ``google.adk.events.ui_widget``.
"""

from trio_adk.events._ui_widget import UiWidget as UiWidget

__all__ = ["UiWidget"]

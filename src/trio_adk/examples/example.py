"""ADK-compatible import path.

Re-exports for ``google.adk.examples.example``.
"""

from trio_adk.examples._example import Example as Example

__all__ = ["Example"]

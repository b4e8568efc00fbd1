"""ADK-compatible import path.

Re-exports for ``google.adk.examples.base_example_provider``.
"""

from trio_adk.examples._base_example_provider import BaseExampleProvider as BaseExampleProvider

__all__ = ["BaseExampleProvider"]

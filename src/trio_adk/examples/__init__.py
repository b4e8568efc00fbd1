"""Few-shot examples: :class:`Example` and :class:`BaseExampleProvider` (used by
``trio_adk.tools.example_tool.ExampleTool``)."""

from trio_adk.examples._base_example_provider import BaseExampleProvider as BaseExampleProvider
from trio_adk.examples._example import Example as Example

__all__ = ["BaseExampleProvider", "Example"]

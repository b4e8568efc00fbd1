"""ADK-compatible import path.

Re-exports for ``google.adk.examples.example_util``.
"""

from trio_adk.examples._build import build_example_si as build_example_si
from trio_adk.examples._example_text import convert_examples_to_text as convert_examples_to_text

__all__ = ["build_example_si", "convert_examples_to_text"]

"""BaseExampleProvider: examples chosen for each query."""

from __future__ import annotations

import abc

from trio_adk.examples._example import Example


class BaseExampleProvider(abc.ABC):
    """Supplies few-shot examples for a query (for :class:`~trio_adk.tools.ExampleTool`).

    ``get_examples`` is user code: the tool calls it before every model call of an agent
    that lists it, on the caller's library (it may also be a coroutine function).
    """

    @abc.abstractmethod
    def get_examples(self, query: str) -> list[Example]:
        """The examples to show for the user's ``query`` (its text parts)."""

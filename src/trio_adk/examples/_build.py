"""build_example_si: the examples block for a list of examples or a provider."""

from __future__ import annotations

from trio_adk._usercode._host import call_user
from trio_adk.examples._base_example_provider import BaseExampleProvider
from trio_adk.examples._example import Example
from trio_adk.examples._example_text import convert_examples_to_text


async def examples_for(
    examples: list[Example] | BaseExampleProvider, query: str
) -> list[Example]:
    """``examples`` itself, or what the provider's ``get_examples(query)`` returns.

    The provider is user code and runs on the caller's library; its result is checked.
    Cancellation: cancelled with the caller (while the provider runs, on its library).
    """
    if isinstance(examples, BaseExampleProvider):
        chosen = await call_user(examples.get_examples, query)
        if not isinstance(chosen, list) or not all(isinstance(e, Example) for e in chosen):
            raise TypeError(
                f"{type(examples).__name__}.get_examples() must return a list of Example, "
                f"got {type(chosen).__name__}."
            )
        return chosen
    return examples


def build_example_si(
    examples: list[Example] | BaseExampleProvider, query: str, model: str | None
) -> str:
    """The few-shot block for ``examples`` (a list, or a provider asked with ``query``).

    Calls a provider's ``get_examples`` directly in this thread (use it from code that
    may block); ``ExampleTool`` instead runs providers on the caller's library.  Raises
    ``ValueError`` for anything else.
    """
    if isinstance(examples, list):
        return convert_examples_to_text(examples, model)
    if isinstance(examples, BaseExampleProvider):
        return convert_examples_to_text(examples.get_examples(query), model)
    raise ValueError(
        "examples must be a list of Example or a BaseExampleProvider, "
        f"got {type(examples).__name__}."
    )

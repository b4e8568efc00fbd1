"""ExampleTool: few-shot examples added to the system instruction of every request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trio_adk._usercode._host import native
from trio_adk.examples._base_example_provider import BaseExampleProvider
from trio_adk.examples._build import examples_for
from trio_adk.examples._example import Example
from trio_adk.examples._example_text import convert_examples_to_text
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._request_text import content_text

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext


def _examples(value: Any) -> list[Example] | BaseExampleProvider:
    if isinstance(value, BaseExampleProvider):
        return value
    if isinstance(value, (list, tuple)):
        return [item if isinstance(item, Example) else Example.model_validate(item)
                for item in value]
    raise TypeError(
        "ExampleTool(examples=...) takes a list of Example (or of dicts with 'input' and "
        f"'output') or a BaseExampleProvider, got {type(value).__name__}."
    )


class ExampleTool(BaseTool):
    """Adds few-shot examples to the system instruction of each request.

    The model never calls it (it has no declaration).  Before every model call of an
    agent that lists it, the examples (a fixed list, or a provider's
    ``get_examples(query)`` with the text of the invocation's user message as query)
    are formatted as ADK does and appended to the system instruction.  Nothing is added
    when the user message has no parts, nor for a provider when it has no text.
    A provider runs on the caller's library; the rest in the run's trio task.
    Cancellation: cancelled with the run.

    Attributes:
        examples: The list of examples or the provider.
    """

    def __init__(self, examples: list[Example] | BaseExampleProvider) -> None:
        super().__init__(name="example_tool", description="example tool")
        self.examples: list[Example] | BaseExampleProvider = _examples(examples)

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Append the examples block to ``llm_request``'s system instruction."""
        user_content = tool_context.user_content
        if user_content is None or not user_content.parts:
            return
        query = content_text(user_content)
        if not query and isinstance(self.examples, BaseExampleProvider):
            return
        chosen = await examples_for(self.examples, query)
        llm_request.append_instructions([convert_examples_to_text(chosen, llm_request.model)])

"""LlmRequest: everything one model call needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from google.genai import types

from trio_adk._utils._model import ModelMixin

if TYPE_CHECKING:
    from trio_adk.tools._base_tool import BaseTool


_EMPTY_CONFIG = types.GenerateContentConfig()


def _empty_config() -> types.GenerateContentConfig:
    # Copying a prebuilt empty config is ~15x cheaper than constructing one.
    return _EMPTY_CONFIG.model_copy()


@attrs.define(kw_only=True)
class LlmRequest(ModelMixin):
    """The request the flow builds for one model call.

    Request processors, ``before_model`` callbacks and tools may change it in place
    before the call.  ``tools_dict`` maps declared tool names to the tools that run
    them; it is not part of the wire request.
    """

    model: str | None = None
    contents: list[types.Content] = attrs.field(factory=list)
    config: types.GenerateContentConfig = attrs.field(factory=_empty_config)
    live_connect_config: types.LiveConnectConfig | None = None
    tools_dict: dict[str, BaseTool] = attrs.field(
        factory=dict, eq=False, repr=False, metadata={"serialize": False}
    )

    def append_instructions(self, instructions: list[str]) -> None:
        """Append instructions to the system instruction, separated by blank lines."""
        if not instructions:
            return
        text = "\n\n".join(instructions)
        current = self.config.system_instruction
        if current:
            self.config.system_instruction = f"{current}\n\n{text}"
        else:
            self.config.system_instruction = text

    def append_tools(self, tools: list[BaseTool]) -> None:
        """Declare ``tools`` to the model and register them in ``tools_dict``."""
        declarations: list[types.FunctionDeclaration] = []
        for tool in tools:
            declaration = tool._get_declaration()
            if declaration is None:
                continue
            declarations.append(declaration)
            self.tools_dict[tool.name] = tool
        if not declarations:
            return
        if self.config.tools is None:
            self.config.tools = []
        for existing in self.config.tools:
            if isinstance(existing, types.Tool) and existing.function_declarations is not None:
                existing.function_declarations.extend(declarations)
                return
        self.config.tools.append(types.Tool(function_declarations=declarations))

    def set_output_schema(self, schema: Any) -> None:
        """Ask for JSON output that matches ``schema`` (a pydantic model or a Schema)."""
        self.config.response_schema = schema
        self.config.response_mime_type = "application/json"

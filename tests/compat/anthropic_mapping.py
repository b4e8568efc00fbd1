"""Print how a model adapter maps one fixed conversation to Claude and one reply back.

``python anthropic_mapping.py adk`` (an interpreter with google-adk 2.13 and the anthropic
SDK) or ``python anthropic_mapping.py trio_adk``: prints one JSON line with the Messages API
request body built for the conversation below and the ``LlmResponse`` (JSON dump) built from
the reply below.  tests/test_anthropic_llm.py compares the two.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from google.genai import types

WHICH = sys.argv[1]

DECLARATIONS = [
    types.FunctionDeclaration(name="get_weather", description="Weather.", parameters=types.Schema(
        type=types.Type.OBJECT, required=["city"], properties={
            "city": types.Schema(type=types.Type.STRING, description="A city."),
            "days": types.Schema(type=types.Type.INTEGER),
            "tags": types.Schema(type=types.Type.ARRAY,
                                 items=types.Schema(type=types.Type.STRING))})),
    types.FunctionDeclaration(name="lookup", parameters_json_schema={
        "type": "OBJECT", "properties": {"x": {"type": "NUMBER", "default": {"type": "KEEP"}}}}),
]
CONFIG = types.GenerateContentConfig(
    system_instruction="Be brief.", temperature=0.3, top_k=5, top_p=0.5, stop_sequences=["X"],
    max_output_tokens=300, tools=[types.Tool(function_declarations=DECLARATIONS)],
    thinking_config=types.ThinkingConfig(thinking_budget=0))
CONTENTS = [
    types.Content(role="user", parts=[
        types.Part(text="hi"),
        types.Part(inline_data=types.Blob(mime_type="image/jpeg", data=b"abc")),
        types.Part(inline_data=types.Blob(mime_type="application/pdf", data=b"%PDF"))]),
    types.Content(role="model", parts=[
        types.Part(text="hmm", thought=True, thought_signature=b"sig"),
        types.Part(text="ok"),
        types.Part(function_call=types.FunctionCall(id="toolu_1", name="get_weather",
                                                    args={"city": "Paris"})),
        types.Part(function_call=types.FunctionCall(id="adk-12.3", name="lookup",
                                                    args={"x": 1}))]),
    types.Content(role="user", parts=[
        types.Part(function_response=types.FunctionResponse(
            id="toolu_1", name="get_weather", response={"result": "sunny"})),
        types.Part(function_response=types.FunctionResponse(
            id="adk-12.3", name="lookup", response={"content": [
                {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}))]),
    types.Content(role="model", parts=[types.Part(executable_code=types.ExecutableCode(
        code="print(1)", language=types.Language.PYTHON))]),
    types.Content(role="user", parts=[
        types.Part(code_execution_result=types.CodeExecutionResult(
            outcome=types.Outcome.OUTCOME_OK, output="1")),
        types.Part(text="")]),
    types.Content(role="user", parts=[types.Part(text="")]),
]
REPLY = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x-1",
    "content": [{"type": "thinking", "thinking": "so", "signature": "s2"},
                {"type": "text", "text": "Calling."},
                {"type": "tool_use", "id": "toolu_9", "name": "lookup", "input": {"x": 2}}],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 2,
              "cache_creation_input_tokens": 1},
}


def main() -> None:
    body: dict[str, Any]
    if WHICH == "adk":
        import anthropic
        from google.adk.models import anthropic_llm as adk
        from google.adk.models.llm_request import LlmRequest

        request = LlmRequest(model="claude-x", contents=CONTENTS, config=CONFIG)
        ids = adk._ToolUseIdSanitizer()
        messages = [m for m in (adk._content_to_message_param(c, ids) for c in CONTENTS)
                    if m["content"]]
        tools = [adk.function_declaration_to_tool_param(d) for d in DECLARATIONS]
        kwargs = adk.AnthropicLlm(model="claude-x")._build_anthropic_kwargs(
            request, messages, tools, {"type": "auto"},
            adk._build_anthropic_thinking_param(CONFIG))
        body = {k: v for k, v in kwargs.items() if not isinstance(v, anthropic.NotGiven)}
        response = adk.message_to_generate_content_response(
            anthropic.types.Message.model_validate(REPLY))
    else:
        from trio_adk.models import LlmRequest
        from trio_adk.models._anthropic_wire import message_response, request_body

        request = LlmRequest(model="claude-x", contents=CONTENTS, config=CONFIG)
        body = request_body(request, "claude-x", 8192)
        body["tool_choice"] = {"type": "auto"}  # an agent with tools asks for it
        response = message_response(REPLY)
    dumped = response.model_dump(mode="json", exclude_none=True)
    kept = {k: dumped.get(k) for k in ("content", "usage_metadata", "finish_reason",
                                       "model_version")}
    print(json.dumps({"body": body, "response": kept}, sort_keys=True))


if __name__ == "__main__":
    main()

"""The few-shot examples block that goes into the system instruction.

The structure (the ``<EXAMPLES>`` tags, ``Begin/End few-shot``, numbered examples with
``[user]``/``[model]`` turns) follows ADK's, so a model sees the same shape; the
wording is ours.  Gemini models get function calls and responses in plain code fences;
other models get ``tool_code`` / ``tool_outputs`` fences.
"""

from __future__ import annotations

from google.genai import types

from trio_adk.examples._example import Example

_INTRO = (
    "<EXAMPLES>\nBegin few-shot\nBelow are sample user requests and how the model "
    "answered them, using the available tools.\n\n"
)
_OUTRO = "End few-shot\n<EXAMPLES>"
_USER = "[user]\n"
_MODEL = "[model]\n"


def _is_gemini(model: str | None) -> bool:
    # No model, or any id naming a Gemini model (vendor-hosted ids included).
    return model is None or "gemini-" in model


def _call_text(call: types.FunctionCall) -> str:
    args = call.args if isinstance(call.args, dict) else {}
    rendered = [f"{key}='{value}'" if isinstance(value, str) else f"{key}={value}"
                for key, value in args.items()]
    return f"{call.name}({', '.join(rendered)})"


def _part_text(part: types.Part, gemini: bool) -> str:
    if part.function_call:
        fence = "```\n" if gemini else "```tool_code\n"
        return f"{fence}{_call_text(part.function_call)}\n```\n"
    if part.function_response:
        fence = "```\n" if gemini else "```tool_outputs\n"
        # The response object's attributes as a Python dict, as ADK prints them.
        return f"{fence}{vars(part.function_response)}\n```\n"
    if part.text:
        return f"{part.text}\n"
    return ""


def _example_text(number: int, example: Example, gemini: bool) -> str:
    pieces = [f"EXAMPLE {number}:\nBegin example\n", _USER]
    input_texts = [p.text for p in example.input.parts or [] if p.text]
    if example.input.parts:
        pieces.append("\n".join(input_texts) + "\n")
    speaker: str | None = None
    for content in example.output:
        role = _MODEL if content.role == "model" else _USER
        if role != speaker:
            pieces.append(role)
            speaker = role
        pieces.extend(_part_text(part, gemini) for part in content.parts or [])
    pieces.append("End example\n\n")
    return "".join(pieces)


def convert_examples_to_text(examples: list[Example], model: str | None) -> str:
    """The few-shot block for ``examples`` as the system instruction shows it to ``model``.

    Pure; any thread.
    """
    gemini = _is_gemini(model)
    body = "".join(_example_text(n, e, gemini) for n, e in enumerate(examples, start=1))
    return f"{_INTRO}{body}{_OUTRO}"

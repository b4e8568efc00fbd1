"""Example: one few-shot example (a user input and the turns that answer it)."""

from __future__ import annotations

from typing import Any

import attrs
from google.genai import types

from trio_adk._utils._model import ModelMixin


def _content(value: Any, what: str) -> types.Content:
    if isinstance(value, types.Content):
        return value
    if isinstance(value, dict):
        return types.Content.model_validate(value)
    raise TypeError(
        f"Example {what} must be a google.genai.types.Content (or a dict of one), "
        f"got {type(value).__name__}."
    )


def _input(value: Any) -> types.Content:
    return _content(value, "input")


def _output(value: Any) -> list[types.Content]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        raise TypeError(
            "Example output must be a list of google.genai.types.Content (the model's and "
            f"the tools' turns), got {type(value).__name__}."
        )
    return [_content(item, f"output[{index}]") for index, item in enumerate(value)]


@attrs.define(kw_only=True)
class Example(ModelMixin):
    """A few-shot example shown to the model.

    Attributes:
        input: The user's message.
        output: The contents that answer it, in order: model turns (text and function
            calls) and user turns (function responses).

    Contents may be given as dicts (validated into ``types.Content``); anything else
    raises ``TypeError`` naming the field.  Any thread.
    """

    input: types.Content = attrs.field(converter=_input)
    output: list[types.Content] = attrs.field(converter=_output)

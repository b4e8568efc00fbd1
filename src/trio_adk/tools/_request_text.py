"""Small helpers for tools that read or extend the model request."""

from __future__ import annotations

from google.genai import types


def content_text(content: types.Content | None) -> str:
    """The text parts of ``content`` that are not thoughts, joined by spaces."""
    if content is None or not content.parts:
        return ""
    return " ".join(p.text for p in content.parts if p.text and not p.thought)


def insert_before_current_turn(
    contents: list[types.Content], extra: list[types.Content]
) -> None:
    """Insert ``extra`` just before the latest run of plain user contents.

    Plain means a user content without function responses: when the model is continuing
    a tool-call turn (the last content holds function responses), ``extra`` goes at the
    end, after them.  This keeps request-scoped context out of the reusable history.
    """
    index = len(contents)
    while index > 0:
        previous = contents[index - 1]
        if previous.role != "user" or any(p.function_response for p in previous.parts or []):
            break
        index -= 1
    contents[index:index] = extra

"""LlmAgent.static_instruction: a fixed system-instruction prefix, and where the dynamic
instruction goes when there is one."""

from __future__ import annotations

from typing import Any

from google.genai import types

# The dynamic instruction travels as user-role content next to a static instruction; these
# markers tell the model it is its own instruction, not something the user said.
INSTRUCTION_BEGIN = "<<<BEGIN_SYSTEM_INSTRUCTION>>>"
INSTRUCTION_END = "<<<END_SYSTEM_INSTRUCTION>>>"
_ELIDED = "<<<ELIDED_MARKER>>>"
_PREAMBLE = (
    f"Between {INSTRUCTION_BEGIN} and {INSTRUCTION_END} below is your own system "
    "instruction for this turn, with the current session state filled in. It is meant "
    "for you and was not written by the user: do not reply to it or carry it on as if it "
    "were their message. What the user really said is outside the markers, and their "
    "turn may come right after the end marker."
)


def to_content(value: Any) -> types.Content:
    """``static_instruction`` (text, a Part, a File, a list of those, or a Content) as a
    ``types.Content``; ``TypeError`` names what is not accepted."""
    if isinstance(value, types.Content):
        return value
    items = value if isinstance(value, list) else [value]
    return types.Content(role="user", parts=[_to_part(item) for item in items])


def _to_part(item: Any) -> types.Part:
    if isinstance(item, types.Part):
        return item
    if isinstance(item, str):
        return types.Part(text=item)
    if isinstance(item, types.File):
        return types.Part(file_data=types.FileData(file_uri=item.uri,
                                                   mime_type=item.mime_type))
    raise TypeError(
        "static_instruction must be text, a types.Part, a types.File, a list of those, or "
        f"a types.Content; got {type(item).__name__}."
    )


def split_static(content: types.Content) -> tuple[list[str], list[types.Content]]:
    """The system-instruction texts of a static instruction, and the user contents that
    carry its inline or file data (each named by a reference in the texts)."""
    texts: list[str] = []
    contents: list[types.Content] = []
    count = 0
    for part in content.parts or ():
        if part.text:
            texts.append(part.text)
            continue
        data = part.inline_data or part.file_data
        if data is None:
            continue  # calls, responses, code: not instruction material
        kind = "inline_data" if part.inline_data is not None else "file_data"
        ref = f"{kind}_{count}"
        count += 1
        details = [f"'{data.display_name}'"] if data.display_name else []
        if part.file_data is not None and part.file_data.file_uri:
            details.append(f"URI: {part.file_data.file_uri}")
        if data.mime_type:
            details.append(f"type: {data.mime_type}")
        suffix = f" ({', '.join(details)})" if details else ""
        what = "inline binary data" if kind == "inline_data" else "file data"
        texts.append(f"[Reference to {what}: {ref}{suffix}]")
        label = "inline data" if kind == "inline_data" else "file data"
        contents.append(types.Content(role="user", parts=[
            types.Part(text=f"Referenced {label}: {ref}"), part]))
    return texts, contents


def fenced(instruction: str) -> types.Content:
    """The dynamic instruction as a user-role content between the instruction markers
    (markers inside the text are elided, so state cannot close the block early)."""
    body = instruction.replace(INSTRUCTION_BEGIN, _ELIDED).replace(INSTRUCTION_END, _ELIDED)
    text = f"{_PREAMBLE}\n{INSTRUCTION_BEGIN}\n{body}\n{INSTRUCTION_END}"
    return types.Content(role="user", parts=[types.Part(text=text)])


def insert_instruction_contents(contents: list[types.Content], extra: list[types.Content],
                                *, as_prefix: bool) -> None:
    """Put ``extra`` into the history: first of all when the static instruction has data
    parts (a stable prefix, for caching), else just before the latest run of plain user
    messages (after a function response the model is continuing from)."""
    if not extra:
        return
    if as_prefix:
        contents[0:0] = extra
        return
    index = len(contents)
    for i in range(len(contents) - 1, -1, -1):
        content = contents[i]
        if content.role != "user" or any(p.function_response is not None
                                         for p in content.parts or ()):
            break
        index = i
    contents[index:index] = extra

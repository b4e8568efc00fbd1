"""Instruction templating: ``{key}``, ``{key?}``, ``{app:key}``, ``{artifact.name}``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext

_PLACEHOLDER = re.compile(r"{+[^{}]*}+")
_PREFIXES = ("app:", "user:", "temp:")


def _is_state_name(name: str) -> bool:
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name.isidentifier()


async def inject_session_state(template: str, ctx: InvocationContext) -> str:
    """Fill ``{placeholders}`` in ``template`` from session state and artifacts.

    ``{name}`` is replaced by ``str(state[name])`` (``KeyError`` when missing),
    ``{name?}`` by the value or an empty string, ``{artifact.file}`` by the text of that
    artifact.  Anything that is not a valid state name is left as written.  Loading an
    artifact awaits the artifact service (cancellable there).
    """
    if "{" not in template:
        return template
    pieces: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        pieces.append(template[last:match.start()])
        pieces.append(await _replace(match.group(), ctx))
        last = match.end()
    pieces.append(template[last:])
    return "".join(pieces)


async def _replace(placeholder: str, ctx: InvocationContext) -> str:
    name = placeholder.lstrip("{").rstrip("}").strip()
    optional = name.endswith("?")
    if optional:
        name = name[:-1]
    if name.startswith("artifact."):
        filename = name.removeprefix("artifact.")
        service = ctx.artifact_service
        if service is None:
            raise ValueError(
                f"Instruction uses {placeholder} but the runner has no artifact service."
            )
        artifact = await service.load_artifact(
            app_name=ctx.app_name, user_id=ctx.user_id, session_id=ctx.session.id,
            filename=filename,
        )
        if artifact is None:
            if optional:
                return ""
            raise KeyError(f"Artifact {filename} not found.")
        return artifact.text or ""
    if not _is_state_name(name):
        return placeholder
    state = ctx.session.state
    if name in state:
        return str(state[name])
    if optional:
        return ""
    raise KeyError(
        f"Context variable not found: `{name}`. Set it in session state, or write "
        f"`{{{name}?}}` to make it optional."
    )

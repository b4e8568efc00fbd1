"""ADK-compatible import path.

Re-exports for ``google.adk.utils.instructions_utils``: fill an instruction template
from an instruction provider.
"""

from __future__ import annotations

from typing import Any

from trio_adk._bridges._anywhere import awaitable_anywhere
from trio_adk.agents._callback_context import ReadonlyContext
from trio_adk.agents._llm_agent import InstructionProvider
from trio_adk.flows._instructions import inject_session_state as _inject

__all__ = ["InstructionProvider", "ReadonlyContext", "inject_session_state"]


def _check(template: Any, readonly_context: Any, use_jinja2: bool = False) -> None:
    if not isinstance(template, str):
        raise TypeError(f"template must be a str, got {type(template).__name__}.")
    if not isinstance(readonly_context, ReadonlyContext):
        raise TypeError("readonly_context must be the ReadonlyContext (or CallbackContext) "
                        "the instruction provider was called with, got "
                        f"{type(readonly_context).__name__}.")
    if use_jinja2:
        raise ValueError("use_jinja2=True: trio-adk fills only {key} templates; render "
                         "Jinja2 yourself in the instruction provider.")


async def _inject_session_state(template: str, readonly_context: ReadonlyContext,
                                use_jinja2: bool = False) -> str:
    return await _inject(template, readonly_context._invocation_context)


inject_session_state = awaitable_anywhere(_inject_session_state, _check)
inject_session_state.__doc__ = """Fill ``{key}``, ``{key?}``, ``{app:key}`` and
``{artifact.name}`` placeholders of ``template`` from the session of
``readonly_context``, as a string ``instruction`` is filled.

For instruction providers, whose returned text is used as is.  ``KeyError`` for a
missing required key; ``use_jinja2=True`` raises ``ValueError`` (not supported).
Awaitable from trio or asyncio; cancellation reaches an artifact being loaded.
"""

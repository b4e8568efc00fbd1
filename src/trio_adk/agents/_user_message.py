"""The user message of an invocation, as the session will store it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from trio_adk._utils._checks import check_user_message
from trio_adk._utils._copy import copy_content

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext


async def accept_user_message(ctx: InvocationContext, message: types.Content) -> types.Content:
    """``message`` after the ``on_user_message_callback`` plugins, as our own copy.

    A plugin's replacement is checked like a caller's message.  The result is a copy
    with role ``user``: the message passes from the caller to storage, so a caller
    reusing its ``Content`` cannot rewrite history.  Runs the plugins in the calling
    trio task; cancellation propagates from them.
    """
    replaced = await ctx.plugin_manager.run_on_user_message_callback(
        invocation_context=ctx, user_message=message)
    if replaced is not None:
        message = check_user_message(replaced,
                                     "the message returned by on_user_message_callback")
    return copy_content(message, role="user")

"""exit_loop: the tool an agent calls to end the LoopAgent it runs in."""

from __future__ import annotations

from trio_adk._usercode._host import native
from trio_adk.tools._tool_context import ToolContext


@native
def exit_loop(tool_context: ToolContext) -> None:
    """End the loop this agent runs in.

    Only call it when your instructions tell you to.
    """
    # Escalation ends the enclosing LoopAgent; nothing is summarised after the call.
    tool_context.actions.escalate = True
    tool_context.actions.skip_summarization = True

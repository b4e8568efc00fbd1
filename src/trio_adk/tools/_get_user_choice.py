"""get_user_choice: a long-running tool that hands a choice of options to the user."""

from __future__ import annotations

from trio_adk._usercode._host import native
from trio_adk.tools._function_tool import LongRunningFunctionTool
from trio_adk.tools._tool_context import ToolContext


@native
def get_user_choice(options: list[str], tool_context: ToolContext) -> str | None:
    """Show the options to the user and ask them to choose one."""
    # No result now: the client answers later with a function response carrying the
    # user's choice, and nothing is summarised meanwhile.
    tool_context.actions.skip_summarization = True
    return None


class _GetUserChoiceTool(LongRunningFunctionTool):
    """``get_user_choice`` as a long-running tool.

    The function only sets an action and returns, so it runs in the calling trio task
    (no worker thread).  Its call is reported in ``long_running_tool_ids`` and sends no
    function response; the client sends the user's choice as that response.
    """

    _runs_inline = True

    def __init__(self) -> None:
        super().__init__(get_user_choice)


get_user_choice_tool: LongRunningFunctionTool = _GetUserChoiceTool()
"""The ``get_user_choice`` tool, ready to list in an agent's ``tools``."""

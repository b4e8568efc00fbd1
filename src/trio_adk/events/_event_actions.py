"""EventActions: the side effects an event carries (state changes, transfer, escalation)."""

from __future__ import annotations

from typing import Any

import attrs

from trio_adk._utils._model import ModelMixin
from trio_adk.events._event_compaction import EventCompaction
from trio_adk.events._tool_confirmation import ToolConfirmation
from trio_adk.events._ui_widget import UiWidget


@attrs.define(kw_only=True)
class EventActions(ModelMixin):
    """What an event asks the runtime to do besides showing its content.

    Attributes:
        state_delta: State changes, applied to the session when the event is appended.
            Keys prefixed ``app:``/``user:`` are shared per app/user; ``temp:`` keys are
            visible for the rest of the invocation and never persisted.
        artifact_delta: Filename -> version saved while producing the event.
        transfer_to_agent: Name of the agent that should take over.
        escalate: Asks the enclosing ``LoopAgent`` to stop.
        skip_summarization: On a function-response event: do not call the model again.
        requested_auth_configs: Function-call id -> auth request, set by tools.
        requested_tool_confirmations: Function-call id -> the approval a tool asked for
            (``ToolContext.request_confirmation``); the flow turns each into an
            ``adk_request_confirmation`` call to the client.
        end_of_agent: Set on the last event of an agent (bookkeeping only).
        agent_state: A workflow agent's checkpoint (e.g. the sub-agent a
            ``SequentialAgent`` is at), so a resumed invocation continues there.
        rewind_before_invocation_id: On a rewind event (``Runner.rewind_async``): the
            events from this invocation's first one up to this event no longer count.
        compaction: On a compaction event: the summary standing in for a span of
            earlier events (see :class:`EventCompaction`).
        render_ui_widgets: Widgets for the UI to render with the event (see
            ``render_ui_widget`` on a tool's or callback's context); None when there
            are none.
    """

    skip_summarization: bool | None = None
    state_delta: dict[str, Any] = attrs.field(factory=dict)
    artifact_delta: dict[str, int] = attrs.field(factory=dict)
    transfer_to_agent: str | None = None
    escalate: bool | None = None
    requested_auth_configs: dict[str, Any] = attrs.field(factory=dict)
    requested_tool_confirmations: dict[str, ToolConfirmation] = attrs.field(factory=dict)
    end_of_agent: bool | None = None
    agent_state: dict[str, Any] | None = None
    rewind_before_invocation_id: str | None = None
    compaction: EventCompaction | None = None
    render_ui_widgets: list[UiWidget] | None = None

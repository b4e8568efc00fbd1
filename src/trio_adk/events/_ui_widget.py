"""UiWidget: what a tool asks the UI to render next to the agent's reply."""

from __future__ import annotations

from typing import Any

import attrs

from trio_adk._utils._model import ModelMixin


@attrs.define(kw_only=True)
class UiWidget(ModelMixin):
    """A widget for the UI host to render with an event (an MCP App iframe, say).

    A tool or callback adds one with ``render_ui_widget`` on its context; it travels in
    ``EventActions.render_ui_widgets`` of the event that context produces and is stored
    with it.  trio-adk only carries it: rendering is the UI's job.

    Attributes:
        id: Names the widget; unique among the widgets of one event.
        provider: Which renderer the UI uses, such as ``'mcp'`` (an MCP App).
        payload: What that renderer needs, in the provider's own shape (for ``'mcp'``:
            ``resource_uri``, ``tool`` and ``tool_args``).  Stored as given: its keys
            are not camelCased in JSON.
    """

    id: str
    provider: str
    payload: dict[str, Any] = attrs.field(factory=dict)

"""ToolConfirmation: a human's answer to "may this tool call run?"."""

from __future__ import annotations

import json
from typing import Any, Self

import attrs

from trio_adk._utils._model import ModelMixin


@attrs.define(kw_only=True)
class ToolConfirmation(ModelMixin):
    """A request for approval of one tool call, or the answer to it.

    A tool asks with ``tool_context.request_confirmation(hint=..., payload=...)`` (or a
    ``FunctionTool(require_confirmation=...)`` asks for it); the request travels to the
    client as the ``adk_request_confirmation`` function call.  The client answers with a
    function response ``{"confirmed": ..., "payload": ...}``, and the tool call runs
    again with that answer in ``tool_context.tool_confirmation``.

    Attributes:
        hint: Why approval is needed, for the person asked.
        confirmed: Whether the call may run (False in a request).
        payload: Any JSON-ready data the tool wants filled in, or the client sends back.
    """

    hint: str = ""
    confirmed: bool = False
    payload: Any | None = None

    @classmethod
    def from_response_dict(cls, response: dict[str, Any]) -> Self:
        """The confirmation a client's function response carries.

        Takes the response dict itself, or the ``{"response": "<json text>"}`` wrapper
        some clients (ADK's web UI) send.
        """
        if response is not None and len(response) == 1 and "response" in response:
            wrapped = response["response"]
            return cls.model_validate(json.loads(wrapped) if isinstance(wrapped, (str, bytes))
                                      else wrapped)
        return cls.model_validate(response)

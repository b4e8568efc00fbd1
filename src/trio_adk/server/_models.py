"""Request bodies: ADK 2.13's fields, camelCase or snake_case accepted."""

from __future__ import annotations

from typing import Any

import pydantic
from google.genai import types
from pydantic import alias_generators


class _Body(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(alias_generator=alias_generators.to_camel,
                                       populate_by_name=True)


class RunAgentRequest(_Body):
    """``POST /run`` and ``POST /run_sse``."""

    app_name: str | None = None
    user_id: str
    session_id: str
    new_message: types.Content | None = None
    streaming: bool = False
    state_delta: dict[str, Any] | None = None
    function_call_event_id: str | None = None
    invocation_id: str | None = None
    custom_metadata: dict[str, Any] | None = None
    service_tier: str | None = None


class CreateSessionRequest(_Body):
    """``POST /apps/{app}/users/{user}/sessions`` (the whole body is optional)."""

    session_id: str | None = None
    state: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None
    options: dict[str, Any] | None = None


class UpdateSessionRequest(_Body):
    """``PATCH /apps/{app}/users/{user}/sessions/{session}``."""

    state_delta: dict[str, Any]


class SaveArtifactRequest(_Body):
    """``POST .../sessions/{session}/artifacts``."""

    filename: str
    artifact: types.Part
    custom_metadata: dict[str, Any] | None = None


class UpdateMemoryRequest(_Body):
    """``PATCH /apps/{app}/users/{user}/memory``."""

    session_id: str


class AppInfo(_Body):
    """One app in ``/list-apps?detailed=true`` and ``/apps/{app}/app-info``."""

    name: str
    root_agent_name: str
    description: str
    language: str = "python"
    is_computer_use: bool = False
    agents: dict[str, Any] | None = None

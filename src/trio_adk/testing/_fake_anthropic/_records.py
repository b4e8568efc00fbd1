"""What FakeAnthropicServer records about each request."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class RecordedAnthropicRequest:
    """One HTTP request as the fake Anthropic server received it."""

    method: str
    path: str
    headers: dict[str, str]
    """Lower-case header names."""
    body: Any
    """The decoded JSON body (``None`` when empty or not JSON)."""
    raw_body: bytes
    api_key: str | None
    """The credential sent (``x-api-key``, or the token of ``Authorization: Bearer``)."""
    timestamp: float
    """``trio.current_time()`` when the request arrived."""

    @property
    def model(self) -> str | None:
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else None

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def messages(self) -> list[Any]:
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return messages if isinstance(messages, list) else []

    @property
    def tool_names(self) -> list[str]:
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return [str(tool.get("name")) for tool in tools or [] if isinstance(tool, dict)]

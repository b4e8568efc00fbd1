"""What goes on the wire: camelCase JSON of events and sessions, and ``/run_sse`` frames.

Everything leaves as ADK 2.13 sends it: ``model_dump(mode="json", by_alias=True,
exclude_none=True)`` with credential secrets removed from auth configurations (the
``adk_request_credential`` call's ``authConfig``, ``requestedAuthConfigs`` and any credential
object), so a client never sees a client secret or token the agent holds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from trio_adk.events._event import Event
from trio_adk.sessions._session import Session

_SECRET_KEYS = frozenset({
    "password", "token", "additionalHeaders", "clientSecret", "authResponseUri", "authCode",
    "accessToken", "refreshToken", "idToken", "codeVerifier", "privateKeyId", "privateKey",
    "apiKey",
})
# Credential fields are dumped camelCase; the snake_case spellings cover raw dicts.
_SECRETS = _SECRET_KEYS | {
    "".join(f"_{c.lower()}" if c.isupper() else c for c in key) for key in _SECRET_KEYS
}
_CREDENTIAL_TYPES = frozenset({
    "apiKey", "http", "oauth2", "openIdConnect", "serviceAccount",
    "API_KEY", "HTTP", "OAUTH2", "OPEN_ID_CONNECT", "SERVICE_ACCOUNT",
    "api_key", "open_id_connect", "service_account",
})
_CARRIERS = ("requestedAuthConfigs", "requested_auth_configs", "rawAuthCredential",
             "raw_auth_credential", "exchangedAuthCredential", "exchanged_auth_credential")
_CREDENTIAL_CALL = "adk_request_credential"


def _strip_secrets(value: Any) -> Any:
    """``value`` with every secret-named key removed, at any depth."""
    if isinstance(value, Mapping):
        return {k: _strip_secrets(v) for k, v in value.items() if k not in _SECRETS}
    if isinstance(value, list):
        return [_strip_secrets(item) for item in value]
    return value


def redact(value: Any) -> Any:
    """A copy of a dumped payload without credential secrets (ADK's redaction rules)."""
    if isinstance(value, list):
        return [redact(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    kind = value.get("authType", value.get("auth_type"))
    if isinstance(kind, str) and kind in _CREDENTIAL_TYPES:
        return _strip_secrets(value)
    out: dict[str, Any] = {}
    credential_call = value.get("name") == _CREDENTIAL_CALL
    for key, item in value.items():
        if key in _CARRIERS or (credential_call and key == "response"):
            out[key] = _strip_secrets(item)
        elif credential_call and key == "args" and isinstance(item, Mapping):
            out[key] = {k: _strip_secrets(v) if k in ("authConfig", "auth_config") else v
                        for k, v in item.items()}
        else:
            out[key] = redact(item)
    return out


INTERNAL_PREFIX = "__adk_internal_"
"""``custom_metadata`` keys only the server may write (ADK's prefix); never sent out."""

RESTORED_KEY = INTERNAL_PREFIX + "restored_event"
"""Marks an event a client restored into a new session (``POST .../sessions`` events)."""


def mark_restored(event: Event) -> Event:
    """Mark a client-supplied event as restored (dropping internal keys it carried)."""
    kept = {k: v for k, v in (event.custom_metadata or {}).items()
            if not k.startswith(INTERNAL_PREFIX)}
    event.custom_metadata = {**kept, RESTORED_KEY: True}
    return event


def event_json(event: Event) -> dict[str, Any]:
    """The event as ADK's API sends it (camelCase, no ``None``, secrets and internal
    metadata removed)."""
    dumped: dict[str, Any] = redact(event.model_dump(mode="json", by_alias=True,
                                                     exclude_none=True))
    _drop_internal(dumped)
    return dumped


def _drop_internal(dumped: dict[str, Any]) -> None:
    metadata = dumped.get("customMetadata")
    if isinstance(metadata, dict) and any(k.startswith(INTERNAL_PREFIX) for k in metadata):
        kept = {k: v for k, v in metadata.items() if not k.startswith(INTERNAL_PREFIX)}
        if kept:
            dumped["customMetadata"] = kept
        else:
            del dumped["customMetadata"]


def session_json(session: Session) -> dict[str, Any]:
    """The session as ADK's API sends it (camelCase, no ``None``, secrets removed)."""
    dumped: dict[str, Any] = redact(session.model_dump(mode="json", by_alias=True,
                                                       exclude_none=True))
    for event in dumped.get("events", ()):
        _drop_internal(event)
    return dumped


def compact(value: Any) -> str:
    """JSON without spaces and with non-ASCII kept (how ADK writes events on the wire)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sse_frames(event: Event, *, split_artifacts: bool = True) -> list[bytes]:
    """The ``/run_sse`` frames for one event: ``data: <json>\\n\\n`` each.

    An event that carries both content and an ``artifactDelta`` becomes two frames, as in
    ADK (its dev UI renders artifacts from an action-only event): the event without the
    delta, then the event without content.  ``split_artifacts=False`` (a request that
    resumes a function call) sends it whole.
    """
    actions = event.actions
    if (split_artifacts and actions is not None and actions.artifact_delta
            and event.content is not None and event.content.parts):
        with_content = event.model_copy(deep=True)
        with_content.actions.artifact_delta = {}
        actions_only = event.model_copy(deep=True)
        actions_only.content = None
        parts = [with_content, actions_only]
    else:
        parts = [event]
    return [f"data: {compact(event_json(part))}\n\n".encode() for part in parts]


def sse_error_frame(exc: BaseException) -> bytes:
    """ADK's in-stream error frame for a run that failed after the 200 was sent."""
    name = type(exc).__name__
    details = {"error_type": name, "error_message": str(exc), "timestamp": time.time()}
    body = json.dumps({"error": f"{name}: {exc}", "error_details": details})
    return f"data: {body}\n\n".encode()


def typed_error_frame(kind: str, message: str) -> bytes:
    """The opt-in (``?typed_events=true``) error frame: ``event: error`` with
    ``{"type": ..., "message": ...}``, the last frame of a failed or cancelled run."""
    body = compact({"type": kind, "message": message})
    return f"event: error\ndata: {body}\n\n".encode()


def typed_end_frame(events: int) -> bytes:
    """The opt-in end-of-run frame: ``event: end`` with ``{"events": <events sent>}``, the
    last frame of a run that finished."""
    return f"event: end\ndata: {compact({'events': events})}\n\n".encode()

"""Events and state in the shape ADK's session databases store them.

Both of ADK's layouts (its SQLite service's and its SQLAlchemy v1 schema) keep each
event as one JSON document: snake_case keys, ``None`` fields left out, bytes as
URL-safe base64.  Key columns (id, invocation id, timestamp) are stored beside it.
State lives in three rows: ``app:`` keys in the app's row and ``user:`` keys in the
user's row (prefixes stripped), the rest in the session's; ``temp:`` keys are never
stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from trio_adk._utils import _serde
from trio_adk._utils._copy import copy_value
from trio_adk.events._event import Event
from trio_adk.sessions._state import State

_APP = State.APP_PREFIX
_USER = State.USER_PREFIX
_TEMP = State.TEMP_PREFIX


def event_document(event: Event) -> dict[str, Any]:
    """``event`` as the JSON-ready dict ADK stores (google-adk reads it back unchanged).

    Only fields ADK's ``EventActions`` knows are written under ``actions`` (ADK refuses
    unknown keys there); extensions belong in ``custom_metadata``.
    """
    return event.model_dump(mode="json", exclude_none=True)


def event_from_document(
    document: Mapping[str, Any],
    *,
    event_id: str | None = None,
    invocation_id: str | None = None,
    timestamp: float | None = None,
) -> Event:
    """An :class:`Event` from a stored document; the key columns, when given, win over
    the document's own values (as in ADK's v1 reader).  Unknown keys (newer ADK fields)
    are ignored.  ``document`` is not changed.

    A plain dict of snake_case keys (what :func:`event_document` writes) is built by
    the Event's generated builder; anything else by the generic load, with the same
    result or error (see ``_serde.load``).
    """
    if event_id is None and invocation_id is None and timestamp is None \
            and type(document) is dict:
        return _serde.load(Event, document)  # read only: no copy needed
    data = dict(document)
    if event_id is not None:
        data["id"] = event_id
    if invocation_id is not None:
        data["invocation_id"] = invocation_id
    if timestamp is not None and "timestamp" not in data:
        data["timestamp"] = timestamp
    return _serde.load(Event, data)


# The C scanner json.loads itself runs (a fresh decoder's: the default configuration).
_scan: Callable[[str, int], tuple[Any, int]] = (
    json.JSONDecoder().scan_once)  # type: ignore[attr-defined]


def parse_document(text: str | bytes | bytearray) -> Any:
    """``json.loads(text)``: the same value, the same errors, a little faster for
    stored documents (the stdlib's scanner called directly, without ``json.loads``'
    wrapper, when ``text`` is a ``str`` holding exactly one JSON value)."""
    if type(text) is str:
        try:
            value, end = _scan(text, 0)
        except Exception:  # json.loads raises the real error (or skips leading space)
            pass
        else:
            if end == len(text):
                return value
    return json.loads(text)


@attrs.frozen
class ScopedState:
    """State split by scope, prefixes stripped, ``temp:`` keys dropped."""

    app: dict[str, Any]
    user: dict[str, Any]
    session: dict[str, Any]

    def __bool__(self) -> bool:
        return bool(self.app or self.user or self.session)


def split_state(state: Mapping[str, Any] | None) -> ScopedState:
    """Split a state dict or delta into its app, user and session parts (values copied)."""
    app: dict[str, Any] = {}
    user: dict[str, Any] = {}
    session: dict[str, Any] = {}
    for key, value in (state or {}).items():
        if key.startswith(_APP):
            app[key[len(_APP):]] = copy_value(value)
        elif key.startswith(_USER):
            user[key[len(_USER):]] = copy_value(value)
        elif not key.startswith(_TEMP):
            session[key] = copy_value(value)
    return ScopedState(app=app, user=user, session=session)


def merge_state(
    session: Mapping[str, Any], app: Mapping[str, Any], user: Mapping[str, Any]
) -> dict[str, Any]:
    """The state a caller sees: session keys, then ``app:`` and ``user:`` keys with their
    prefixes back (the stored dicts are not shared with the result)."""
    merged = {key: copy_value(value) for key, value in session.items()}
    for key, value in app.items():
        merged[_APP + key] = copy_value(value)
    for key, value in user.items():
        merged[_USER + key] = copy_value(value)
    return merged

"""Session and GetSessionConfig."""

from __future__ import annotations

from typing import Any

import attrs

from trio_adk._utils._model import ModelMixin
from trio_adk.events._event import Event


@attrs.define(kw_only=True)
class Session(ModelMixin):
    """A conversation between a user and an app: its events and its state.

    A ``Session`` object is a snapshot.  Services hand out copies, so changing
    ``state`` or ``events`` on it does not change storage; only
    ``session_service.append_event`` does.  The copy does not see events appended
    through other copies: fetch the session again for a fresh view.
    """

    id: str
    app_name: str
    user_id: str
    state: dict[str, Any] = attrs.field(factory=dict)
    events: list[Event] = attrs.field(factory=list)
    last_update_time: float = 0.0


@attrs.frozen(kw_only=True)
class GetSessionConfig(ModelMixin):
    """Limits on the events ``get_session`` returns.

    Attributes:
        num_recent_events: Keep only the last N events (0 keeps none).
        after_timestamp: Keep only events with ``timestamp >= after_timestamp``.
            Both limits may be combined: the last N first, then the timestamp filter.
    """

    num_recent_events: int | None = None
    after_timestamp: float | None = None


@attrs.frozen(kw_only=True)
class ListSessionsResponse(ModelMixin):
    """The answer of ``list_sessions``: sessions without their events."""

    sessions: list[Session] = attrs.field(factory=list)

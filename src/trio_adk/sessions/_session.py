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
    # The durable store's revision of this snapshot (its exact ``update_time``), set by
    # the store that loaded it and compared on append to detect stale writers.  Not
    # part of the session's value (no init argument, not compared, not serialised).
    _storage_update_marker: str | None = attrs.field(
        default=None, init=False, repr=False, eq=False, metadata={"serialize": False})


@attrs.frozen(kw_only=True)
class GetSessionConfig(ModelMixin):
    """Limits on the events ``get_session`` returns.

    Attributes:
        num_recent_events: Keep only the last N events (0 keeps none; negative raises
            ``ValueError``, as in ADK).
        after_timestamp: Keep only events with ``timestamp >= after_timestamp``.
            Both limits may be combined: the last N first, then the timestamp filter.
    """

    num_recent_events: int | None = attrs.field(default=None)
    after_timestamp: float | None = None

    @num_recent_events.validator
    def _check_num_recent_events(self, _: attrs.Attribute[int | None], value: object) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"num_recent_events must be an int or None, got {value!r}.")
        if value < 0:
            raise ValueError("num_recent_events must be greater than or equal to 0.")


@attrs.frozen(kw_only=True)
class ListSessionsResponse(ModelMixin):
    """The answer of ``list_sessions``: sessions without their events."""

    sessions: list[Session] = attrs.field(factory=list)
    # Beyond ADK: set when ``list_sessions`` was asked for a page and more sessions
    # follow; pass it back as ``page_token`` for the next page.
    next_page_token: str | None = None

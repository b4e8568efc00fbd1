"""State: a session's key-value state with a record of changes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class State:
    """A view over a session's state that records every write in a delta.

    Reads prefer the delta; writes go to both the underlying value and the delta, so a
    change is visible at once and also travels with the event that made it.  Keys may
    carry a scope prefix: ``app:`` (shared by the app), ``user:`` (shared by the user's
    sessions), ``temp:`` (this invocation only, never persisted), none (this session).
    """

    APP_PREFIX = "app:"
    USER_PREFIX = "user:"
    TEMP_PREFIX = "temp:"

    __slots__ = ("_delta", "_value")

    def __init__(self, value: dict[str, Any], delta: dict[str, Any]) -> None:
        self._value = value
        self._delta = delta

    def __getitem__(self, key: str) -> Any:
        if key in self._delta:
            return self._delta[key]
        return self._value[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._value[key] = value
        self._delta[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._value or key in self._delta

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __repr__(self) -> str:
        return f"State({self.to_dict()!r})"

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value for ``key``, or ``default`` when absent."""
        if key in self._delta:
            return self._delta[key]
        return self._value.get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Return ``state[key]``, first setting it to ``default`` when absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, delta: Mapping[str, Any]) -> None:
        """Set several keys at once."""
        self._value.update(delta)
        self._delta.update(delta)

    def has_delta(self) -> bool:
        """True when this view has recorded any change."""
        return bool(self._delta)

    def to_dict(self) -> dict[str, Any]:
        """The current state as a new dict (value overlaid by delta)."""
        result = dict(self._value)
        result.update(self._delta)
        return result

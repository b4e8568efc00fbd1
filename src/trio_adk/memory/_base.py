"""BaseMemoryService and the value types its search returns."""

from __future__ import annotations

import abc
from typing import Any

import attrs
from google.genai import types

from trio_adk._bridges._anywhere import wrap_coroutine_methods
from trio_adk._utils._checks import check_id, check_instance
from trio_adk._utils._model import ModelMixin
from trio_adk.sessions._session import Session


@attrs.define(kw_only=True)
class MemoryEntry(ModelMixin):
    """One remembered piece of conversation.

    Attributes:
        content: What was said.
        custom_metadata: Whatever the memory service keeps with it (empty by default).
        id: The id of the remembered event, when known.
        author: Who said it (``'user'`` or an agent name), when known.
        timestamp: When it was said, as an ISO-8601 string with its UTC offset (ADK's
            in-memory service gives local time without one), when known.
    """

    content: types.Content
    custom_metadata: dict[str, Any] = attrs.field(factory=dict)
    id: str | None = None
    author: str | None = None
    timestamp: str | None = None


@attrs.define(kw_only=True)
class SearchMemoryResponse(ModelMixin):
    """The answer of ``search_memory``: the matching memories, best first if ranked."""

    memories: list[MemoryEntry] = attrs.field(factory=list)


class BaseMemoryService(abc.ABC):
    """Long-term memory: ingests finished sessions and answers searches over them.

    Searches are scoped to one app and user.  Methods are coroutines awaited from trio
    tasks, normally on the trio thread that runs the runner; implementations that block
    must do so in ``trio.to_thread.run_sync``, never on the event loop.
    """

    _ANYWHERE = ("add_session_to_memory", "search_memory")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Overrides stay awaitable from asyncio code too (run in the trio guest), and
        # their arguments are checked when they are called.
        wrap_coroutine_methods(cls, cls._ANYWHERE, _CHECKS)

    @abc.abstractmethod
    async def add_session_to_memory(self, session: Session) -> None:
        """Ingest ``session``; adding the same session again replaces the earlier copy."""

    @abc.abstractmethod
    async def search_memory(
        self, *, app_name: str, user_id: str, query: str
    ) -> SearchMemoryResponse:
        """Return the memories of ``app_name``/``user_id`` relevant to ``query``."""


def _check_add(self: object, session: Any = None, *_: Any, **__: Any) -> None:
    check_instance(session, Session, "session")


def _check_search(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
                  query: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    check_id(app_name, "app_name")
    check_id(user_id, "user_id")
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, got {type(query).__name__}.")


_CHECKS = {"add_session_to_memory": _check_add, "search_memory": _check_search}

wrap_coroutine_methods(BaseMemoryService, BaseMemoryService._ANYWHERE, _CHECKS)

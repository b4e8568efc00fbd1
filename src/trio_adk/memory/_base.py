"""BaseMemoryService and the value types its search returns."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

import attrs
from google.genai import types

from trio_adk._bridges._anywhere import wrap_coroutine_methods
from trio_adk._utils._model import ModelMixin

if TYPE_CHECKING:
    from trio_adk.sessions._session import Session


@attrs.define(kw_only=True)
class MemoryEntry(ModelMixin):
    """One remembered piece of conversation.

    Attributes:
        content: What was said.
        author: Who said it (``'user'`` or an agent name), when known.
        timestamp: When it was said, as an ISO-8601 string, when known.
    """

    content: types.Content
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
        # Overrides stay awaitable from asyncio code too (run in the trio guest).
        wrap_coroutine_methods(cls, cls._ANYWHERE)

    @abc.abstractmethod
    async def add_session_to_memory(self, session: Session) -> None:
        """Ingest ``session``; adding the same session again replaces the earlier copy."""

    @abc.abstractmethod
    async def search_memory(
        self, *, app_name: str, user_id: str, query: str
    ) -> SearchMemoryResponse:
        """Return the memories of ``app_name``/``user_id`` relevant to ``query``."""


wrap_coroutine_methods(BaseMemoryService, BaseMemoryService._ANYWHERE)

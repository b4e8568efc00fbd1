"""The model history of a session, kept between turns and extended with new events.

Building an agent's request converts the session's whole history into model contents.
Done from scratch on every model call, that costs time in proportion to the history: a
long conversation (or an agent looping over many tool calls) pays it on every turn.  So
the converted history of each view (session, agent, branch) is kept, per session
service, and the next request only converts the events stored since.

A kept view is used only while the session's events still start with the ones it was
built from (checked by the ids of its first and last event: stored events are never
changed or removed, only appended).  It is rebuilt from scratch when the history was
rewritten by an event that changes how earlier events read (a rewind, a compaction
summary), when a new function response does not answer the call just before it (a
long-running tool answered later, whose response moves next to its call), when a call id
comes back, when the view was built with its newest event resuming an older call, and
when the session was loaded with a window (``GetSessionConfig``) that drops its start.
Those rebuilds give exactly what :func:`~trio_adk.flows._contents.build_contents` gives;
``tests/test_history_cache.py`` checks the two agree over random histories.

The contents handed out are fresh lists.  Their ``Content`` objects are the kept ones
when nothing but trio-adk's own code sees the request before the model (no
before-model or model-error callback or plugin, no planner, a model and tools of
trio-adk's own); otherwise a :class:`~trio_adk.flows._fresh_list.FreshOnRead` list, whose
items are copied as user code reads them, so it may change them freely as before while
the history it never reads costs nothing.
Lives in the run's trio thread; not thread-safe (one trio run per service at a time uses
it, as the services themselves).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk._usercode._host import is_native
from trio_adk._utils._fast_content import _builder
from trio_adk.events._event import Event
from trio_adk.flows._contents import (
    contents_of,
    convert,
    keeps,
    kept_events,
    resumes_at_latest,
)
from trio_adk.flows._fresh_list import FreshOnRead

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.agents._llm_agent import LlmAgent

#: Histories shorter than this are converted from scratch and not kept: that costs
#: less than a kept view's bookkeeping, and most sessions are short.
MIN_KEPT_HISTORY = 16

#: Events kept converted per session service, over all its views (least recently used
#: views dropped first); about 0.4 kB each, as the parts are shared with the events.
MAX_CACHED_EVENTS = 100_000

_new_content = _builder(types.Content)


class _View:
    """One agent's history of one session, as converted so far."""

    __slots__ = ("call_ids", "contents", "count", "extendable", "first_id", "kept",
                 "last_calls", "last_id", "latest_end", "response_ids")

    def __init__(self, events: Sequence[Event], kept: list[Event], latest_end: float,
                 agent_name: str) -> None:
        self.count = len(events)
        self.first_id = events[0].id if events else ""
        self.last_id = events[-1].id if events else ""
        self.kept = kept
        self.latest_end = latest_end
        self.extendable = not resumes_at_latest(kept)
        self.contents = contents_of(kept, agent_name=agent_name, include="default")
        # Ids of every call and response kept: a new call with one of them could take
        # responses away from where the view put them.
        calls = [c.id for e in kept for c in e.get_function_calls() if c.id]
        self.call_ids = set(calls)
        if len(self.call_ids) != len(calls):
            self.extendable = False  # a repeated call id: responses pair with the newest
        self.response_ids = {r.id for e in kept for r in e.get_function_responses() if r.id}
        self.call_ids.update(self.response_ids)
        self.last_calls = _call_ids(kept[-1]) if kept else frozenset()

    def covers_start_of(self, events: Sequence[Event]) -> bool:
        count = self.count
        if not count or len(events) < count:
            return False
        return events[0].id == self.first_id and events[count - 1].id == self.last_id

    def extend(self, new: Sequence[Event], branch: str | None, agent_name: str) -> bool:
        """Convert the events stored since; False when only a rebuild gives the right
        history (the view is then left half-extended and must be dropped)."""
        for event in new:
            actions = event.actions
            if actions.compaction is not None or actions.rewind_before_invocation_id:
                return False
            if not keeps(event, branch):
                continue
            if event.timestamp <= self.latest_end:
                return False  # a summary's range may cover it
            calls = _call_ids(event)
            if calls & self.call_ids:
                return False  # a call id seen before: responses may move to it
            if event.get_function_responses() and not self._answers_last(event):
                return False
            self.kept.append(event)
            self.contents.append(convert(event, agent_name))
            responses = {r.id for r in event.get_function_responses() if r.id}
            self.call_ids |= calls | responses
            self.response_ids |= responses
            self.last_calls = calls
        self.count += len(new)
        if new:
            self.last_id = new[-1].id
        return True

    def _answers_last(self, event: Event) -> bool:
        """A response event that the full build leaves where it is: only function
        responses, from the user's role, to calls of the newest kept event."""
        content = event.content
        assert content is not None and content.parts
        if content.role != "user" or not self.last_calls:
            return False
        for part in content.parts:
            response = part.function_response
            if response is None or not response.id or response.id not in self.last_calls \
                    or response.id in self.response_ids:
                return False  # not a first answer to the newest kept call
        # The call event is the newest kept one: nothing answered it yet.
        return not self.kept[-1].get_function_responses()


def _call_ids(event: Event) -> frozenset[str]:
    return frozenset(c.id for c in event.get_function_calls() if c.id)


class _Views:
    """The views of one session service, least recently used first."""

    __slots__ = ("by_key", "events", "lock")

    def __init__(self) -> None:
        self.by_key: OrderedDict[tuple[Any, ...], _View] = OrderedDict()
        self.events = 0
        # Sync callers run trio on worker threads: runs on different sessions of one
        # service may come from several threads at once (one session's runs take turns).
        self.lock = threading.Lock()

    def take(self, key: tuple[Any, ...]) -> _View | None:
        with self.lock:
            view = self.by_key.pop(key, None)
            if view is not None:
                self.events -= view.count
            return view

    def put(self, key: tuple[Any, ...], view: _View) -> None:
        with self.lock:
            old = self.by_key.pop(key, None)
            if old is not None:
                self.events -= old.count
            self.by_key[key] = view
            self.events += view.count
            while self.events > MAX_CACHED_EVENTS and len(self.by_key) > 1:
                _, dropped = self.by_key.popitem(last=False)
                self.events -= dropped.count


_VIEWS: weakref.WeakKeyDictionary[Any, _Views] = weakref.WeakKeyDictionary()
_VIEWS_LOCK = threading.Lock()


def _views_of(service: Any) -> _Views | None:
    with _VIEWS_LOCK:
        try:
            views = _VIEWS.get(service)
            if views is None:
                views = _VIEWS[service] = _Views()
        except TypeError:  # a service that cannot be weakly referenced: no cache
            return None
        return views


def history(ctx: InvocationContext, agent: LlmAgent, *, include: str) -> list[types.Content]:
    """``agent``'s history for its next model call: what ``build_contents`` gives,
    converting only the events stored since the agent's previous call on this session
    (see the module docstring).  A fresh list each time."""
    events = ctx.session.events
    branch = ctx.branch
    agent_name = agent.name
    views = _views_of(ctx.session_service) if len(events) >= MIN_KEPT_HISTORY else None
    if views is None:  # a short history (or a service without weak references)
        kept, _ = kept_events(events, branch=branch, agent_name=agent_name)
        return contents_of(kept, agent_name=agent_name, include=include)
    key = (ctx.app_name, ctx.user_id, ctx.session.id, agent_name, branch)
    view = views.take(key)
    if view is not None and (not view.extendable or not view.covers_start_of(events)
                             or not view.extend(events[view.count:], branch, agent_name)):
        view = None
    if view is None:
        kept, latest_end = kept_events(events, branch=branch, agent_name=agent_name)
        view = _View(events, kept, latest_end, agent_name)
    views.put(key, view)
    if include == "none":
        return contents_of(view.kept, agent_name=agent_name, include="none")
    if shares_contents(ctx, agent):
        return list(view.contents)
    return FreshOnRead(view.contents, fresh_content)


def fresh_content(content: types.Content) -> types.Content:
    """A new ``Content`` with a new ``parts`` list (the parts themselves shared)."""
    return _new_content({"role": content.role, "parts": list(content.parts or ())})


def shares_contents(ctx: InvocationContext, agent: LlmAgent) -> bool:
    """True when only trio-adk's own code sees ``agent``'s requests before the model,
    so the kept ``Content`` objects can be handed out as they are."""
    if agent.before_model_callback or agent.on_model_error_callback or agent.planner \
            or agent.code_executor is not None:
        return False
    chains = ctx.plugin_manager._chains
    if chains["before_model_callback"] or chains["on_model_error_callback"]:
        return False
    if not is_native(agent.canonical_model.generate_content_async):
        return False
    if agent._toolsets:
        return False
    for tool in agent.tools:
        method = getattr(tool, "process_llm_request", None)
        if method is not None and not is_native(method):
            return False
    return True


def forget_all() -> None:
    """Drop every kept view (tests; memory)."""
    with _VIEWS_LOCK:
        _VIEWS.clear()

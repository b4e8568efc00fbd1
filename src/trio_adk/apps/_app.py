"""``App``: an agent tree with the plugins and settings that apply to all of it.

The configuration types an ``App`` carries live here too.  trio-adk checks them all when
the ``App`` is built; the setting it cannot honour yet (context caching) is refused
there, with a message saying so, rather than accepted and silently ignored.

``App`` is an attrs class, not a pydantic model as in ADK: ADK code builds an ``App`` with
keyword arguments and hands it to a ``Runner`` or exposes it as ``app`` in ``agent.py``,
which works unchanged.  The configuration types are frozen attrs value types with the
pydantic spellings (``model_dump``, ``model_copy``, ...) of the rest of trio-adk.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from google.genai import types

from trio_adk._utils._model import ModelMixin
from trio_adk.agents._base_agent import BaseAgent
from trio_adk.apps._summarizer import BaseEventsSummarizer
from trio_adk.plugins._base_plugin import BasePlugin

_APP_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def validate_app_name(name: str) -> None:
    """Check that ``name`` can name an :class:`App`, as ADK checks it.

    A name starts with a letter and holds only letters, digits, ``_`` and ``-``; ``"user"``
    is taken (it is the author of the user's own events).

    Raises:
        TypeError: ``name`` is not a ``str``.
        ValueError: ``name`` is not a valid app name.
    """
    if not isinstance(name, str):
        raise TypeError(f"An app name must be a str, got {type(name).__name__} {name!r}.")
    if not _APP_NAME.fullmatch(name):
        raise ValueError(
            f"Invalid app name {name!r}: an app name starts with a letter and holds only "
            f"letters, digits, underscores and hyphens.")
    if name == "user":
        raise ValueError(
            "An app cannot be named 'user': that name is the author of the user's events.")


def _count(minimum: int, maximum: int | None = None, *,
           optional: bool = False) -> Any:
    """An attrs validator: an ``int`` (never a ``bool``) in ``[minimum, maximum]``."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        owner = f"{type(instance).__name__}.{attribute.name}"
        if isinstance(value, bool) or not isinstance(value, int):
            none = " or None" if optional else ""
            raise TypeError(f"{owner} must be an int{none}, got {value!r}.")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"at least {minimum}" if maximum is None else (
                f"from {minimum} to {maximum}")
            raise ValueError(f"{owner} must be {bound}, got {value}.")

    return check


def _flag(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{type(instance).__name__}.{attribute.name} must be True or "
                        f"False, got {value!r}.")


@attrs.frozen(kw_only=True)
class ResumabilityConfig(ModelMixin):
    """Whether the invocations of an :class:`App` may pause and resume later.

    With ``is_resumable=True`` an invocation that stops (a long-running tool or a tool
    confirmation awaiting an answer, a crash, a cancellation) can be continued later,
    in this or another process, with ``runner.run_async(..., invocation_id=...)`` or by
    answering its pending call: the unanswered calls of the interrupted model turn are
    run again (at least once, never concurrently), and a pending long-running call
    keeps the invocation paused until it is answered.  See the README, "Pausing,
    resuming and compacting".
    """

    is_resumable: bool = attrs.field(default=False, validator=_flag)


def _summarizer(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, BaseEventsSummarizer):
        raise TypeError(f"EventsCompactionConfig.summarizer must be a BaseEventsSummarizer "
                        f"or None, got {value!r}.")


@attrs.frozen(kw_only=True)
class EventsCompactionConfig(ModelMixin):
    """When and how a session's older events are summarized (ADK's event compaction).

    Two triggers, each a pair set together (at least one pair is required):
    ``compaction_interval`` new invocations with ``overlap_size`` invocations of overlap
    between summaries, or a prompt of at least ``token_threshold`` tokens keeping the
    last ``event_retention_size`` events as they are.  ``summarizer`` (a
    :class:`~trio_adk.apps.BaseEventsSummarizer`) writes the summary; when ``None``, an
    :class:`~trio_adk.apps.LlmEventSummarizer` on the root agent's model does (the root
    agent must then be an ``LlmAgent``).

    Summaries are written after an invocation (sliding window, or token threshold) and
    before a model call (token threshold); they are stored as events and replace the
    events they cover in later model requests, while the session keeps every event.
    """

    summarizer: BaseEventsSummarizer | None = attrs.field(default=None,
                                                          validator=_summarizer)
    compaction_interval: int | None = attrs.field(default=None,
                                                  validator=_count(1, optional=True))
    overlap_size: int | None = attrs.field(default=None, validator=_count(0, optional=True))
    token_threshold: int | None = attrs.field(default=None,
                                              validator=_count(1, optional=True))
    event_retention_size: int | None = attrs.field(default=None,
                                                   validator=_count(0, optional=True))

    def __attrs_post_init__(self) -> None:
        by_tokens = self.token_threshold is not None
        by_interval = self.compaction_interval is not None
        if by_tokens != (self.event_retention_size is not None):
            raise ValueError("EventsCompactionConfig: token_threshold and "
                             "event_retention_size go together; set both or neither.")
        if by_interval != (self.overlap_size is not None):
            raise ValueError("EventsCompactionConfig: compaction_interval and overlap_size "
                             "go together; set both or neither.")
        if not (by_tokens or by_interval):
            raise ValueError(
                "EventsCompactionConfig needs a trigger: compaction_interval with "
                "overlap_size, or token_threshold with event_retention_size.")


@attrs.frozen(kw_only=True)
class ContextCacheConfig(ModelMixin):
    """How an app's model requests would reuse Gemini context caches (ADK's context caching).

    ``cache_intervals`` (1 to 100) invocations reuse one cache before it is refreshed;
    a cache lives ``ttl_seconds``; ``min_tokens`` is the previous prompt's size below which
    nothing is cached; ``create_http_options`` are the HTTP options of the call that creates
    a cache.

    trio-adk does not cache contexts yet: the type is here so ADK code imports, but an
    :class:`App` refuses a context cache config.
    """

    cache_intervals: int = attrs.field(default=10, validator=_count(1, 100))
    ttl_seconds: int = attrs.field(default=1800, validator=_count(1))
    min_tokens: int = attrs.field(default=0, validator=_count(0))
    create_http_options: types.HttpOptions | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(types.HttpOptions)))

    @property
    def ttl_string(self) -> str:
        """The time to live as the API spells durations, e.g. ``"1800s"``."""
        return f"{self.ttl_seconds}s"


def _name(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    validate_app_name(value)


def _root_agent(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, BaseAgent):
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        hint = (" Import the agent classes from trio_adk, not google.adk."
                if kind.startswith("google.adk.") else "")
        raise TypeError(f"App.root_agent must be a trio-adk agent (a BaseAgent such as "
                        f"Agent), got {kind}.{hint}")


def _plugins(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, list):
        raise TypeError(f"App.plugins must be a list of plugins, got {value!r}.")
    for plugin in value:
        if not isinstance(plugin, BasePlugin):
            raise TypeError(f"App.plugins must hold BasePlugin instances, got {plugin!r}.")


_NOT_YET = "(see README: what ports)"


def _compaction(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, EventsCompactionConfig):
        raise TypeError(f"App.events_compaction_config must be an EventsCompactionConfig "
                        f"or None, got {value!r}.")


def _context_cache(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, ContextCacheConfig):
        raise TypeError(f"App.context_cache_config must be a ContextCacheConfig or None, "
                        f"got {value!r}.")
    raise NotImplementedError(
        "App(context_cache_config=...): trio-adk does not use Gemini context caches yet, "
        "and will not ignore the setting silently. Leave it out (None): every request "
        f"sends its whole context {_NOT_YET}.")


def _resumability(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, ResumabilityConfig):
        raise TypeError(f"App.resumability_config must be a ResumabilityConfig or None, "
                        f"got {value!r}.")


@attrs.define(kw_only=True, eq=False)
class App:
    """An agentic application: a root agent and the plugins and settings of all its runs.

    Give it to a runner, ``Runner(app=app, session_service=...)`` or
    ``InMemoryRunner(app=app)``: the runner's app name defaults to ``name`` and its plugins
    are ``plugins``.  Or expose it as ``app`` in an app's ``agent.py``: the command line
    and the server load it in preference to ``root_agent``.

    Every field is checked when the App is built and when it is set later.  ``name``
    follows ADK's rule (see :func:`validate_app_name`).  ``events_compaction_config``
    turns on event compaction (see :class:`EventsCompactionConfig`).  trio-adk does not
    apply ``context_cache_config`` yet: it raises ``NotImplementedError`` instead of
    being ignored.

    Unlike ADK's ``App`` this is not a pydantic model (it is an attrs class, compared by
    identity): build it with keyword arguments, as ADK code does.

    Raises:
        TypeError: a field of the wrong type (``root_agent`` must be a trio-adk agent).
        ValueError: an invalid ``name``.
        NotImplementedError: a setting trio-adk does not apply yet.
    """

    name: str = attrs.field(validator=_name)
    root_agent: BaseAgent = attrs.field(validator=_root_agent)
    plugins: list[BasePlugin] = attrs.field(factory=list, validator=_plugins)
    events_compaction_config: EventsCompactionConfig | None = attrs.field(
        default=None, validator=_compaction)
    context_cache_config: ContextCacheConfig | None = attrs.field(
        default=None, validator=_context_cache)
    resumability_config: ResumabilityConfig | None = attrs.field(
        default=None, validator=_resumability)

    def __repr__(self) -> str:
        plugins = ", ".join(repr(p.name) for p in self.plugins)
        return (f"<App {self.name!r} root_agent={self.root_agent.name!r} "
                f"plugins=[{plugins}]>")

"""Plugins: BasePlugin defaults, PluginManager chains, errors and close, LoggingPlugin."""


from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
import trio
from google.genai import types

from trio_adk.events import Event
from trio_adk.models import LlmRequest, LlmResponse
from trio_adk.plugins import BasePlugin, LoggingPlugin, PluginManager

CALLBACKS = (
    "on_user_message_callback",
    "before_run_callback",
    "on_event_callback",
    "after_run_callback",
    "before_agent_callback",
    "after_agent_callback",
    "before_model_callback",
    "after_model_callback",
    "on_model_error_callback",
    "before_tool_callback",
    "after_tool_callback",
    "on_tool_error_callback",
)

INVOCATION = SimpleNamespace(
    invocation_id="e-1", agent=SimpleNamespace(name="root"), session=SimpleNamespace(id="s1")
)
CALLBACK_CONTEXT = SimpleNamespace(invocation_id="e-1", agent_name="root")
TOOL_CONTEXT = SimpleNamespace(invocation_id="e-1", agent_name="root", function_call_id="fc-1")
AGENT = SimpleNamespace(name="root")
TOOL = SimpleNamespace(name="get_weather")


def kwargs_for(callback: str) -> dict[str, Any]:
    """Fresh, realistic keyword arguments for ``callback``."""
    content = types.Content(role="user", parts=[types.Part(text="hi")])
    by_callback: dict[str, dict[str, Any]] = {
        "on_user_message_callback": {"invocation_context": INVOCATION, "user_message": content},
        "before_run_callback": {"invocation_context": INVOCATION},
        "on_event_callback": {
            "invocation_context": INVOCATION,
            "event": Event(author="root", invocation_id="e-1", content=content),
        },
        "after_run_callback": {"invocation_context": INVOCATION},
        "before_agent_callback": {"agent": AGENT, "callback_context": CALLBACK_CONTEXT},
        "after_agent_callback": {"agent": AGENT, "callback_context": CALLBACK_CONTEXT},
        "before_model_callback": {
            "callback_context": CALLBACK_CONTEXT,
            "llm_request": LlmRequest(model="fake-model"),
        },
        "after_model_callback": {
            "callback_context": CALLBACK_CONTEXT,
            "llm_response": LlmResponse(content=content),
        },
        "on_model_error_callback": {
            "callback_context": CALLBACK_CONTEXT,
            "llm_request": LlmRequest(model="fake-model"),
            "error": ValueError("model down"),
        },
        "before_tool_callback": {
            "tool": TOOL, "tool_args": {"city": "Paris"}, "tool_context": TOOL_CONTEXT,
        },
        "after_tool_callback": {
            "tool": TOOL, "tool_args": {"city": "Paris"}, "tool_context": TOOL_CONTEXT,
            "result": {"temp": 21},
        },
        "on_tool_error_callback": {
            "tool": TOOL, "tool_args": {"city": "Paris"}, "tool_context": TOOL_CONTEXT,
            "error": KeyError("city"),
        },
    }
    return by_callback[callback]


class PlainPlugin(BasePlugin):
    """Overrides nothing."""


class RecordingPlugin(BasePlugin):
    """Overrides every callback: records the call in ``log`` and returns ``returns[cb]``."""

    def __init__(
        self,
        name: str,
        log: list[tuple[str, str, dict[str, Any]]] | None = None,
        *,
        returns: dict[str, Any] | None = None,
        raises: BaseException | None = None,
    ) -> None:
        super().__init__(name)
        self.log = [] if log is None else log
        self.returns = returns or {}
        self.raises = raises

    async def _record(self, callback: str, kwargs: dict[str, Any]) -> Any:
        self.log.append((self.name, callback, kwargs))
        if self.raises is not None:
            raise self.raises
        return self.returns.get(callback)


def _recorder(callback: str) -> Any:
    async def method(self: RecordingPlugin, **kwargs: Any) -> Any:
        return await self._record(callback, kwargs)

    method.__name__ = callback
    return method


for _callback in CALLBACKS:
    setattr(RecordingPlugin, _callback, _recorder(_callback))


# BasePlugin


def test_plugin_stores_its_name() -> None:
    """The name given to the constructor is the plugin's identity."""
    assert "my_plugin" == PlainPlugin("my_plugin").name
    assert "<PlainPlugin 'my_plugin'>" == repr(PlainPlugin("my_plugin"))


@pytest.mark.parametrize("callback", CALLBACKS)
async def test_default_callbacks_return_none(callback: str) -> None:
    """Every callback exists on BasePlugin, takes keyword arguments and returns None."""
    plugin = PlainPlugin("plain")
    assert None is await getattr(plugin, callback)(**kwargs_for(callback))


async def test_default_close_does_nothing() -> None:
    """close() exists and returns None."""
    assert None is await PlainPlugin("plain").close()


@pytest.mark.parametrize("callback", CALLBACKS)
async def test_callbacks_can_be_overridden(callback: str) -> None:
    """A subclass's override is what gets called, with the arguments given."""
    plugin = RecordingPlugin("rec", returns={callback: "override"})
    kwargs = kwargs_for(callback)
    assert "override" == await getattr(plugin, callback)(**kwargs)
    assert [("rec", callback, kwargs)] == plugin.log


# PluginManager: registration


def test_register_and_get_plugin() -> None:
    """Registered plugins are found by name and listed in registration order."""
    first, second = PlainPlugin("first"), PlainPlugin("second")
    manager = PluginManager([first])
    manager.register_plugin(second)
    assert [first, second] == manager.plugins
    assert first is manager.get_plugin("first")
    assert second is manager.get_plugin("second")
    assert None is manager.get_plugin("missing")


def test_manager_starts_empty() -> None:
    """Without arguments there are no plugins and the default close timeout is 5 s."""
    manager = PluginManager()
    assert [] == manager.plugins
    assert 5.0 == manager.close_timeout


def test_register_duplicate_name_raises_value_error() -> None:
    """A second plugin with a taken name is refused with the ADK message."""
    manager = PluginManager([PlainPlugin("dup")])
    with pytest.raises(ValueError) as info:
        manager.register_plugin(RecordingPlugin("dup"))
    assert "Plugin with name 'dup' already registered." == str(info.value)
    assert 1 == len(manager.plugins)


def test_duplicate_name_in_constructor_raises_value_error() -> None:
    """The constructor registers through register_plugin, so duplicates fail there too."""
    with pytest.raises(ValueError) as info:
        PluginManager([PlainPlugin("a"), PlainPlugin("a")])
    assert "Plugin with name 'a' already registered." == str(info.value)


@pytest.mark.parametrize("timeout", [-1.0, float("nan")])
def test_invalid_close_timeout_is_refused(timeout: float) -> None:
    """A negative or NaN close_timeout fails at construction, not at close()."""
    with pytest.raises(ValueError, match="close_timeout must be >= 0"):
        PluginManager(close_timeout=timeout)


def test_repr_lists_plugin_names() -> None:
    """The repr shows the plugin names in order."""
    manager = PluginManager([PlainPlugin("a"), PlainPlugin("b")])
    assert "<PluginManager ['a', 'b']>" == repr(manager)
    assert "<PluginManager []>" == repr(PluginManager())


# PluginManager: chains


@pytest.mark.parametrize("callback", CALLBACKS)
async def test_run_methods_dispatch_with_the_same_kwargs(callback: str) -> None:
    """run_<callback> calls <callback> with exactly its keyword arguments and returns
    the plugin's result."""
    plugin = RecordingPlugin("rec", returns={callback: "result"})
    manager = PluginManager([plugin])
    kwargs = kwargs_for(callback)
    result = await getattr(manager, f"run_{callback}")(**kwargs)
    expected = None if callback == "after_run_callback" else "result"
    assert expected == result
    assert [("rec", callback, kwargs)] == plugin.log


@pytest.mark.parametrize("callback", CALLBACKS)
async def test_run_methods_return_none_without_plugins(callback: str) -> None:
    """With no plugins every run_* method returns None."""
    assert None is await getattr(PluginManager(), f"run_{callback}")(**kwargs_for(callback))


async def test_early_exit_stops_later_plugins() -> None:
    """The first non-None result is returned and later plugins are not called."""
    log: list[tuple[str, str, dict[str, Any]]] = []
    replacement = LlmResponse(content=types.Content(role="model", parts=[types.Part(text="x")]))
    manager = PluginManager([
        RecordingPlugin("first", log),
        RecordingPlugin("second", log, returns={"before_model_callback": replacement}),
        RecordingPlugin("third", log),
    ])
    result = await manager.run_before_model_callback(**kwargs_for("before_model_callback"))
    assert replacement is result
    assert ["first", "second"] == [name for name, _, _ in log]


async def test_falsy_non_none_result_stops_the_chain() -> None:
    """Plugins stop at non-None, not at truthy: an empty dict is a result."""
    log: list[tuple[str, str, dict[str, Any]]] = []
    manager = PluginManager([
        RecordingPlugin("first", log, returns={"before_tool_callback": {}}),
        RecordingPlugin("second", log),
    ])
    assert {} == await manager.run_before_tool_callback(**kwargs_for("before_tool_callback"))
    assert ["first"] == [name for name, _, _ in log]


async def test_all_plugins_are_called_when_all_return_none() -> None:
    """Every plugin runs, in registration order, and the result is None."""
    log: list[tuple[str, str, dict[str, Any]]] = []
    manager = PluginManager([RecordingPlugin(name, log) for name in ("a", "b", "c")])
    kwargs = kwargs_for("on_event_callback")
    assert None is await manager.run_on_event_callback(**kwargs)
    assert [(name, "on_event_callback", kwargs) for name in ("a", "b", "c")] == log


async def test_mutations_are_seen_by_later_plugins() -> None:
    """Arguments are passed by reference: a later plugin sees an earlier one's edits."""

    class AddsArg(BasePlugin):
        async def before_tool_callback(self, *, tool: Any, tool_args: dict[str, Any],
                                       tool_context: Any) -> None:
            tool_args["unit"] = "C"

    seen: list[dict[str, Any]] = []

    class Reads(BasePlugin):
        async def before_tool_callback(self, *, tool: Any, tool_args: dict[str, Any],
                                       tool_context: Any) -> None:
            seen.append(dict(tool_args))

    manager = PluginManager([AddsArg("adds"), Reads("reads")])
    await manager.run_before_tool_callback(**kwargs_for("before_tool_callback"))
    assert [{"city": "Paris", "unit": "C"}] == seen


async def test_plugins_not_overriding_a_callback_are_skipped() -> None:
    """A plugin that only overrides one callback takes part in that chain only."""
    calls: list[str] = []

    class OnlyEvents(BasePlugin):
        async def on_event_callback(self, *, invocation_context: Any, event: Any) -> None:
            calls.append("on_event")

    manager = PluginManager([PlainPlugin("plain"), OnlyEvents("events")])
    assert None is await manager.run_before_run_callback(invocation_context=INVOCATION)
    assert None is await manager.run_on_event_callback(**kwargs_for("on_event_callback"))
    assert ["on_event"] == calls


async def test_exception_is_wrapped_in_runtime_error() -> None:
    """An Exception becomes a RuntimeError naming plugin and callback, chained to the
    original; later plugins are not called."""
    log: list[tuple[str, str, dict[str, Any]]] = []
    original = ValueError("boom")
    manager = PluginManager([
        RecordingPlugin("ok", log),
        RecordingPlugin("broken", log, raises=original),
        RecordingPlugin("later", log),
    ])
    with pytest.raises(RuntimeError) as info:
        await manager.run_before_agent_callback(**kwargs_for("before_agent_callback"))
    assert (
        "Error in plugin 'broken' during 'before_agent_callback' callback: boom"
        == str(info.value)
    )
    assert original is info.value.__cause__
    assert ["ok", "broken"] == [name for name, _, _ in log]


async def test_cancellation_is_not_wrapped(autojump_clock: trio.abc.Clock) -> None:
    """A plugin blocked when its scope is cancelled lets trio.Cancelled through, so the
    cancel scope works; later plugins are not called."""

    class Sleeper(BasePlugin):
        async def before_run_callback(self, *, invocation_context: Any) -> None:
            await trio.sleep_forever()

    later = RecordingPlugin("later")
    manager = PluginManager([Sleeper("sleeper"), later])
    seen: list[type[BaseException]] = []
    with trio.move_on_after(3) as scope:
        try:
            await manager.run_before_run_callback(invocation_context=INVOCATION)
        except BaseException as exc:
            seen.append(type(exc))
            raise
    assert scope.cancelled_caught
    assert [trio.Cancelled] == seen
    assert [] == later.log


async def test_base_exceptions_are_not_wrapped() -> None:
    """BaseExceptions that are not Exceptions (e.g. KeyboardInterrupt) propagate as is."""

    class Stop(BaseException):
        pass

    original = Stop()
    manager = PluginManager([RecordingPlugin("stopper", raises=original)])
    with pytest.raises(Stop) as info:
        await manager.run_after_run_callback(invocation_context=INVOCATION)
    assert original is info.value


# PluginManager.close


class ClosingPlugin(BasePlugin):
    """Records its close in ``log``; can fail or take ``delay`` seconds."""

    def __init__(self, name: str, log: list[str], *, error: Exception | None = None,
                 delay: float = 0.0) -> None:
        super().__init__(name)
        self.log = log
        self.error = error
        self.delay = delay

    async def close(self) -> None:
        self.log.append(f"{self.name} start")
        if self.delay:
            await trio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        self.log.append(f"{self.name} done")


async def test_close_calls_each_plugin_close_once_in_order() -> None:
    """close() closes every plugin once, sequentially, in registration order."""
    log: list[str] = []
    manager = PluginManager([ClosingPlugin("a", log), ClosingPlugin("b", log)])
    await manager.close()
    assert ["a start", "a done", "b start", "b done"] == log


async def test_close_without_plugins_returns() -> None:
    """Closing an empty manager does nothing."""
    assert None is await PluginManager().close()


async def test_close_failures_are_aggregated() -> None:
    """Every plugin is tried; failures are summarised and chained to the first one."""
    log: list[str] = []
    first_error = ValueError("bad")
    manager = PluginManager([
        ClosingPlugin("p1", log, error=first_error),
        ClosingPlugin("ok", log),
        ClosingPlugin("p2", log, error=KeyError("worse")),
    ])
    with pytest.raises(RuntimeError) as info:
        await manager.close()
    assert "Failed to close plugins: 'p1': ValueError, 'p2': KeyError" == str(info.value)
    assert first_error is info.value.__cause__
    assert ["p1 start", "ok start", "ok done", "p2 start"] == log


async def test_close_timeout(autojump_clock: trio.abc.Clock) -> None:
    """A close() slower than close_timeout is cancelled at the deadline and reported as
    TimeoutError; the following plugins are still closed."""
    log: list[str] = []
    manager = PluginManager(
        [ClosingPlugin("p1", log, delay=60), ClosingPlugin("p2", log)], close_timeout=2.5
    )
    start = trio.current_time()
    with pytest.raises(RuntimeError) as info:
        await manager.close()
    assert 2.5 == trio.current_time() - start
    assert "Failed to close plugins: 'p1': TimeoutError" == str(info.value)
    assert isinstance(info.value.__cause__, TimeoutError)
    assert ["p1 start", "p2 start", "p2 done"] == log


async def test_close_completes_when_caller_is_cancelled(
    autojump_clock: trio.abc.Clock,
) -> None:
    """close() is shielded: it finishes every plugin although the caller's scope is
    already cancelled; the caller sees the cancellation afterwards."""
    log: list[str] = []
    manager = PluginManager([ClosingPlugin("a", log, delay=1), ClosingPlugin("b", log)])
    with trio.CancelScope() as scope:
        scope.cancel()
        await manager.close()
        log.append("after close")
        await trio.lowlevel.checkpoint()
        log.append("not reached")
    assert scope.cancelled_caught
    assert ["a start", "a done", "b start", "b done", "after close"] == log


async def test_close_is_still_bounded_when_caller_is_cancelled(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The shield does not remove the per-plugin deadline."""
    log: list[str] = []
    manager = PluginManager([ClosingPlugin("slow", log, delay=100)], close_timeout=1)
    start = trio.current_time()
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(RuntimeError, match="'slow': TimeoutError"):
            await manager.close()
    assert 1 == trio.current_time() - start


# LoggingPlugin


LOGGER = "trio_adk.plugins.logging"


def test_logging_plugin_default_name() -> None:
    """LoggingPlugin is called 'logging_plugin' unless named otherwise."""
    assert "logging_plugin" == LoggingPlugin().name
    assert "mine" == LoggingPlugin("mine").name


@pytest.mark.parametrize("callback", CALLBACKS)
async def test_logging_plugin_logs_every_callback_and_returns_none(
    callback: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each callback logs exactly one INFO line with the invocation id and returns None."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    assert None is await getattr(LoggingPlugin(), callback)(**kwargs_for(callback))
    records = [r for r in caplog.records if r.name == LOGGER]
    assert 1 == len(records)
    assert logging.INFO == records[0].levelno
    message = records[0].getMessage()
    assert message.startswith("[e-1] ")
    assert "\n" not in message


async def test_logging_plugin_summaries(caplog: pytest.LogCaptureFixture) -> None:
    """The lines name the agent, event, model and tool details that matter."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    plugin = LoggingPlugin()
    event = Event(
        author="root", invocation_id="e-1", id="ev-1", partial=True,
        content=types.Content(role="model", parts=[types.Part(text="Hello\nthere " * 20)]),
    )
    await plugin.on_event_callback(invocation_context=INVOCATION, event=event)
    await plugin.before_agent_callback(**kwargs_for("before_agent_callback"))
    await plugin.before_model_callback(**kwargs_for("before_model_callback"))
    await plugin.before_tool_callback(**kwargs_for("before_tool_callback"))
    await plugin.on_tool_error_callback(**kwargs_for("on_tool_error_callback"))
    event_line, agent_line, model_line, tool_line, error_line = [
        r.getMessage() for r in caplog.records if r.name == LOGGER
    ]
    assert event_line.startswith("[e-1] event ev-1 author=root partial=True final=False: ")
    assert "'Hello\\nthere" in event_line
    assert len(event_line) < 200
    assert "[e-1] agent 'root': start" == agent_line
    assert "[e-1] agent 'root': model fake-model call contents=0 tools=[]" == model_line
    assert "[e-1] agent 'root': tool get_weather call_id=fc-1 args={'city': 'Paris'}" == (
        tool_line
    )
    assert "[e-1] agent 'root': tool get_weather call_id=fc-1 error KeyError: 'city'" == (
        error_line
    )


async def test_logging_plugin_formats_nothing_when_disabled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Below INFO nothing is logged and the arguments are not even formatted."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    formatted: list[str] = []

    class Watched:
        def __repr__(self) -> str:
            formatted.append("repr")
            return "watched"

    await LoggingPlugin().before_tool_callback(
        tool=TOOL, tool_args={"x": Watched()}, tool_context=TOOL_CONTEXT
    )
    assert [] == formatted
    assert [] == [r for r in caplog.records if r.name == LOGGER]


async def test_logging_plugin_survives_unrepresentable_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A tool result whose repr raises is logged as a placeholder, not an error."""
    caplog.set_level(logging.INFO, logger=LOGGER)

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    kwargs = kwargs_for("after_tool_callback")
    kwargs["result"] = Broken()
    assert None is await LoggingPlugin().after_tool_callback(**kwargs)
    assert "result=<unrepresentable Broken>" in caplog.records[-1].getMessage()


async def test_logging_plugin_does_not_stop_the_chain(caplog: pytest.LogCaptureFixture) -> None:
    """Registered first, LoggingPlugin leaves the result to the plugins after it."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    replacement = {"temp": 0}
    manager = PluginManager([
        LoggingPlugin(),
        RecordingPlugin("rec", returns={"before_tool_callback": replacement}),
    ])
    result = await manager.run_before_tool_callback(**kwargs_for("before_tool_callback"))
    assert replacement is result

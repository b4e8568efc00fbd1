"""FunctionTool: a plain Python function offered to the model as a tool."""

from __future__ import annotations

import contextvars
import dataclasses
import enum
import functools
import inspect
import logging
import typing
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pydantic
import trio
from google.genai import types

from trio_adk._bridges._anywhere import awaitable_anywhere
from trio_adk._usercode._host import await_user, is_native, iterate_user, native
from trio_adk.tools._base_tool import BaseTool, BaseToolset
from trio_adk.tools._function_schema import (
    ParamInfo,
    build_function_declaration,
    callable_doc,
    callable_name,
    declare_function,
    function_parameters,
)

if TYPE_CHECKING:
    from trio_adk.tools._tool_context import ToolContext

_log = logging.getLogger("trio_adk")

_LONG_RUNNING_NOTE = (
    "Note: this tool starts an operation that keeps running in the background after "
    "the call returns. Do not call it again while an earlier call is still pending."
)


def mandatory_args_missing(
    params: Iterable[ParamInfo], args: typing.Mapping[str, Any]
) -> list[str]:
    """Names of the mandatory parameters (no default, not ``Optional``) absent from ``args``.

    Pure computation; any thread.
    """
    return [p.name for p in params if p.mandatory and p.name not in args]


def missing_args_error(tool_name: str, missing: list[str]) -> dict[str, str]:
    """The response the model gets when it left out mandatory parameters (any thread)."""
    names = "\n".join(missing)
    return {
        "error": f"Invoking `{tool_name}()` failed as the following mandatory input "
        f"parameters are not present:\n{names}\nYou could retry calling this tool, but "
        "it is IMPORTANT for you to provide all the mandatory parameters."
    }


class FunctionTool(BaseTool):
    """A tool that calls a plain sync or async Python callable.

    The name and description come from the function's ``__name__`` and docstring, the
    declaration from its parameters (``build_function_declaration``).  Bound methods,
    ``functools.partial`` objects (bound arguments are hidden from the model) and
    callable instances work too.

    The constructor checks that the model can call the function, and raises
    ``ValueError`` naming the function (and parameter) if not: a name the model does
    not accept (a lambda), a ``*args`` parameter, or an annotation with no schema (for
    example ``socket.socket``).  The message lists the types that can be declared.

    A parameter named ``tool_context`` receives the ``ToolContext``.  Arguments whose
    parameter is annotated with a pydantic model, a dataclass or an Enum are converted
    from the model's JSON before the call (left as they are if that fails).

    Coroutine functions run in the calling trio task.  Sync functions run in a worker
    thread (``trio.to_thread.run_sync``) under the invocation's tool limiter, so they
    do not block the event loop; from there they may use ``trio.from_thread`` to reach
    the run.  A sync tool may read and write ``tool_context.state`` from its thread
    while the calling task waits, but other calls of the same model turn run
    concurrently.  Construct from any thread; ``run_async`` runs inside the trio run.

    ``require_confirmation`` asks a human to approve each call before the function
    runs: ``True``, or a predicate called with the call's arguments (and
    ``tool_context`` when it has such a parameter; sync or async) that returns whether
    this call needs approval.  An unapproved call does not run: it asks for
    confirmation (``tool_context.request_confirmation``) and answers the model with an
    error; the client's answer runs it, or rejects it, in a later run.
    """

    # Sync functions that return at once may run in the trio task instead of a thread.
    _runs_inline = False

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        require_confirmation: bool | Callable[..., Any] = False,
    ) -> None:
        super().__init__(name=callable_name(func), description=callable_doc(func) or "")
        self.func = func
        self.require_confirmation = require_confirmation
        self._params = function_parameters(func, ignore_params=())
        self._takes_tool_context = any(p.name == "tool_context" for p in self._params)
        # Live mode gives such a tool its own copy of the live input (video/audio tools).
        self._takes_input_stream = any(p.name == "input_stream" for p in self._params)
        self._declared_params = [
            p for p in self._params if p.name not in ("tool_context", "input_stream")
        ]
        # Built now, so a function the model cannot call fails here and not at the first
        # model call; ``_build_declaration`` hands it over (subclasses adjust it there).
        self._prebuilt: types.FunctionDeclaration | None = declare_function(
            func, self._declared_params
        )
        self._converters = {
            p.name: pydantic.TypeAdapter(p.annotation)
            for p in self._declared_params
            if _needs_conversion(p.annotation)
        }
        call = func if inspect.isroutine(func) else getattr(func, "__call__", func)  # noqa: B004
        self._is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(call)
        # Async-generator functions are streaming tools (live mode): calling one only
        # creates the generator, so it happens inline.
        self._is_stream = inspect.isasyncgenfunction(func) or inspect.isasyncgenfunction(call)
        if is_native(func) and not self._is_async:
            # An engine function that returns at once (exit_loop): no worker thread.
            self._runs_inline = True
        self._declaration: types.FunctionDeclaration | None = None

    def _build_declaration(self) -> types.FunctionDeclaration:
        """Build the declaration (called once; subclasses may adjust the result)."""
        prebuilt, self._prebuilt = self._prebuilt, None
        return prebuilt or build_function_declaration(self.func)

    def _get_declaration(self) -> types.FunctionDeclaration | None:
        """The declaration, built on first use; each call returns a fresh copy.

        Never fails for a ``FunctionTool``: the constructor already checked that the
        function can be declared.
        """
        if self._declaration is None:
            self._declaration = self._build_declaration()
        return self._declaration.model_copy(deep=True)

    @native
    @awaitable_anywhere
    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        """Call the function with the model's ``args`` and return its raw result.

        Unknown arguments are dropped and ``tool_context`` is injected when the function
        asks for it.  If a mandatory argument is missing the function is not called and
        an ``{"error": ...}`` dict for the model is returned instead.  A missing
        ``Optional`` argument without default is passed as ``None``.

        Cancellation: an async function is cancelled at its next checkpoint.  A sync
        function cannot be interrupted; cancellation waits until it returns, then
        ``trio.Cancelled`` propagates and its result is discarded.
        """
        missing = mandatory_args_missing(self._declared_params, args)
        if missing:
            return missing_args_error(self.name, missing)
        if await self.check_require_confirmation(args, tool_context):
            confirmation = tool_context.tool_confirmation
            if confirmation is None:
                tool_context.request_confirmation(hint=(
                    f"Please approve or reject the tool call {self.name}() by responding "
                    "with a FunctionResponse with an expected ToolConfirmation payload."))
                tool_context.actions.skip_summarization = True
                return {"error": "This tool call requires confirmation, please approve "
                                 "or reject."}
            if not confirmation.confirmed:
                return {"error": "This tool call is rejected."}
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        for param in self._params:
            if param.name == "tool_context":
                value = tool_context
            elif param.name in args:
                value = self._convert(param.name, args[param.name])
            elif param.has_default:
                value = param.default
            elif param.nullable:
                value = None
            else:
                continue  # an undeclared parameter such as ``input_stream``
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(value)
            else:
                keywords[param.name] = value
        call = functools.partial(self.func, *positional, **keywords)
        if self._is_async:
            return await await_user(call())  # on the caller's library
        if self._is_stream:
            return iterate_user(call())
        result = call() if self._runs_inline else await run_sync_tool(call, tool_context)
        if inspect.isawaitable(result):
            result = await await_user(result)
        return result

    async def check_require_confirmation(
        self, args: dict[str, Any], tool_context: ToolContext
    ) -> bool:
        """Whether this call (with the model's ``args``) needs a human's approval.

        A predicate gets the arguments its signature names (``tool_context`` too); a
        sync one runs in a worker thread like a sync tool.
        """
        check = self.require_confirmation
        if not callable(check):
            return bool(check)
        try:
            params = dict(inspect.signature(check).parameters)
        except (TypeError, ValueError):
            params = {}
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        given = {k: self._convert(k, v) for k, v in args.items()}
        given["tool_context"] = tool_context
        keywords = {k: v for k, v in given.items() if takes_all or k in params}
        call = functools.partial(check, **keywords)
        if inspect.iscoroutinefunction(check) or inspect.iscoroutinefunction(
                getattr(check, "__call__", None)):  # noqa: B004
            return bool(await await_user(call()))
        result = await run_sync_tool(call, tool_context)
        if inspect.isawaitable(result):
            result = await await_user(result)
        return bool(result)

    def _convert(self, name: str, value: Any) -> Any:
        adapter = self._converters.get(name)
        if adapter is None:
            return value
        try:
            return adapter.validate_python(value)
        except pydantic.ValidationError as exc:
            _log.warning("Tool %s: could not convert argument %r: %s", self.name, name, exc)
            return value


class LongRunningFunctionTool(FunctionTool):
    """A ``FunctionTool`` whose call only starts work that finishes in the background.

    Its calls are reported in the event's ``long_running_tool_ids`` and a falsy result
    sends no function response; the client answers later.  The description tells the
    model not to repeat a pending call.  Same threading and cancellation rules as
    ``FunctionTool``.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        super().__init__(func)
        self.is_long_running = True
        self.description = _with_note(self.description)

    def _build_declaration(self) -> types.FunctionDeclaration:
        declaration = super()._build_declaration()
        declaration.description = _with_note(declaration.description or "")
        return declaration


def _with_note(description: str) -> str:
    return f"{description}\n\n{_LONG_RUNNING_NOTE}" if description else _LONG_RUNNING_NOTE


async def run_sync_tool(func: Callable[[], Any], tool_context: ToolContext) -> Any:
    """Run ``func`` in a worker thread under the invocation's tool limiter.

    The limiter (``_shared.tool_limiter``) is created on first use with
    ``run_config.tool_thread_pool_config.max_workers`` tokens and shared by every
    context copy of the invocation.  The thread sees a copy of the caller's
    contextvars.  Cancellation waits for ``func`` to return (threads cannot be
    interrupted), then ``trio.Cancelled`` is raised and the result is discarded.
    Call from a trio task.
    """
    ctx = tool_context._invocation_context
    shared = ctx._shared
    if shared.tool_limiter is None:
        max_workers = ctx.run_config.tool_thread_pool_config.max_workers
        shared.tool_limiter = trio.CapacityLimiter(max_workers)
    context = contextvars.copy_context()
    result = await trio.to_thread.run_sync(
        context.run, func, limiter=shared.tool_limiter, abandon_on_cancel=False
    )
    # to_thread returns the result even when cancelled meanwhile: surface the cancel.
    await trio.lowlevel.checkpoint_if_cancelled()
    return result


def as_tool(obj: Any) -> BaseTool:
    """``obj`` as a tool: a ``BaseTool`` is returned as is, a callable is wrapped in a
    ``FunctionTool``.  Anything else raises ``TypeError``.  Any thread.
    """
    if isinstance(obj, BaseTool):
        return obj
    if isinstance(obj, BaseToolset):
        raise TypeError(
            f"{obj!r} is a toolset: list it in LlmAgent.tools, which expands toolsets "
            "per request; as_tool() only takes a single tool."
        )
    if isinstance(obj, type) and issubclass(obj, (BaseTool, BaseToolset)):
        raise TypeError(
            f"Got the class {obj.__qualname__}, not an instance: "
            f"did you mean {obj.__qualname__}(...)?"
        )
    if callable(obj):
        return FunctionTool(obj)
    raise TypeError(
        f"Cannot use {obj!r} (a {type(obj).__qualname__}) as a tool: pass a function, "
        "a BaseTool or a BaseToolset."
    )


def _needs_conversion(annotation: Any) -> bool:
    """Whether arguments for ``annotation`` must be built from JSON (models, enums)."""
    if isinstance(annotation, type):
        return (
            issubclass(annotation, (pydantic.BaseModel, enum.Enum))
            or dataclasses.is_dataclass(annotation)
        )
    return any(_needs_conversion(arg) for arg in typing.get_args(annotation))

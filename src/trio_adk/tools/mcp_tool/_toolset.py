"""McpToolset and McpTool: an MCP server's tools offered to the model."""

from __future__ import annotations

import functools
import logging
import sys
import warnings
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import trio
from google.genai import types
from mcp import MCPError
from mcp.types import CONNECTION_CLOSED, INVALID_REQUEST, CallToolResult, PaginatedRequestParams
from mcp.types import Tool as McpBaseTool

from trio_adk._usercode._host import native
from trio_adk.errors import McpConnectionError
from trio_adk.tools._base_tool import BaseTool, BaseToolset, ToolPredicate
from trio_adk.tools.mcp_tool._params import ConnectionParams
from trio_adk.tools.mcp_tool._session import (
    Params,
    SessionPool,
    describe,
    normalize,
)

if TYPE_CHECKING:
    from trio_adk.agents._callback_context import ReadonlyContext
    from trio_adk.tools._tool_context import ToolContext

_log = logging.getLogger("trio_adk.tools.mcp")

T = TypeVar("T")

# Names the framework gives its own function calls: an MCP tool may not take them.
_RESERVED_NAMES = frozenset({
    "adk_request_credential", "adk_request_confirmation", "adk_request_input",
    "transfer_to_agent", "set_model_response",
})

# ADK 2.13 options trio-adk does not provide yet (passing one raises TypeError).
_OPTIONS_NOT_PROVIDED = frozenset({
    "tool_list_cache_ttl_seconds", "auth_scheme", "auth_credential", "require_confirmation",
    "header_provider", "progress_callback", "use_mcp_resources", "sampling_callback",
    "sampling_capabilities", "elicitation_callback", "credential_key",
    "propagate_grounding_metadata",
})

# Keys whose values are the server's own data, left as sent.
_OPAQUE_KEYS = frozenset({"_meta", "inputSchema", "outputSchema", "structuredContent"})


def _session_gone(exc: MCPError) -> bool:
    """The server answered that it does not know our session (a restarted or scaled-to-
    zero HTTP server): it never ran the request, so a fresh session may retry it.

    The SDK's client says "Session terminated" for a bare 404; servers put their own
    JSON-RPC error in the 404's body: the Python SDK's and the TypeScript SDK's say
    "Session not found" (with ``INVALID_REQUEST`` and -32001 respectively)."""
    message = exc.message.strip().lower()
    return (exc.code == INVALID_REQUEST and message == "session terminated") or (
        message.startswith("session not found"))


def _plain(value: Any) -> Any:
    """A dumped MCP model with ``_meta`` keys spelled ``meta``, as ADK returns them."""
    if isinstance(value, dict):
        return {("meta" if key == "_meta" else key):
                (item if key in _OPAQUE_KEYS else _plain(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def tool_result(result: CallToolResult) -> dict[str, Any]:
    """ADK's result shape: the result's wire fields (``content``, ``structuredContent``,
    ``isError``, ``meta``), camelCase, without ``resultType``."""
    dumped: dict[str, Any] = _plain(result.model_dump(exclude_none=True, mode="json",
                                                      by_alias=True))
    dumped.pop("resultType", None)
    return dumped


async def _on_trio(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``await fn()`` in a trio task: here if this is one, else (asyncio code, including
    user code that an asyncio or sync caller's run hosts on its loop: the engine creates
    ``get_tools()``'s coroutine in a trio task and awaits it there) in the loop's trio
    guest run.  Decided when awaited, not when called."""
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        from trio_adk._bridges._asyncio_guest import run_in_trio

        return await run_in_trio(fn)
    return await fn()


class McpToolset(BaseToolset):
    """The tools of an MCP server, over stdio (a local subprocess), streamable HTTP or SSE.

    ``connection_params`` is a :class:`StdioConnectionParams` (or a bare
    ``mcp.StdioServerParameters``), :class:`StreamableHTTPConnectionParams` or
    :class:`SseConnectionParams`.  ``tool_filter`` (names or a predicate) and
    ``tool_name_prefix`` work as for every toolset; ``errlog`` receives a stdio server's
    stderr.  ADK's other options (auth, header providers, sampling, progress callbacks,
    resources, a tool-list cache) are not provided yet: passing one raises ``TypeError``.

    Sessions: one per trio run, opened on first use by a system task of that run that
    owns it (see ``trio_adk.tools.mcp_tool._session``): a trio program keeps one for its
    lifetime, an asyncio loop one per guest run, and each sync ``run()`` opens its own
    (a stdio server is started for it and stopped after).  A session that broke (the
    server exited, the connection dropped) is discarded and the next call opens a new
    one; a call that an HTTP server rejects because it no longer knows the session (it
    restarted) is retried once on a new session, since the server never ran it.

    ``get_tools`` and ``close`` may be awaited from trio or asyncio (an asyncio caller's
    call runs in its loop's trio guest run); the tools run on trio, in the run's task.
    ``close`` is called by ``Runner.close()``.  Errors: :class:`~trio_adk.errors.
    McpConnectionError` when the server cannot be reached or the connection breaks.
    """

    def __init__(
        self,
        *,
        connection_params: ConnectionParams,
        tool_filter: ToolPredicate | list[str] | None = None,
        tool_name_prefix: str | None = None,
        errlog: TextIO = sys.stderr,
        **options: Any,
    ) -> None:
        super().__init__(tool_filter=tool_filter, tool_name_prefix=tool_name_prefix)
        given = {name for name, value in options.items() if value not in (None, False)}
        if given & _OPTIONS_NOT_PROVIDED:
            raise TypeError(
                "McpToolset(" + ", ".join(sorted(given & _OPTIONS_NOT_PROVIDED))
                + "=...): trio-adk does not provide this option of ADK's McpToolset yet "
                "(see README: what ports).")
        unknown = set(options) - _OPTIONS_NOT_PROVIDED
        if unknown:
            raise TypeError("McpToolset() got unexpected keyword arguments: "
                            + ", ".join(sorted(unknown)))
        if not connection_params:
            raise ValueError("Missing connection params in McpToolset.")
        self._connection_params = connection_params
        self._errlog = errlog
        self._pool = SessionPool(normalize(connection_params), errlog)

    @property
    def connection_params(self) -> ConnectionParams:
        """The connection parameters, as given."""
        return self._connection_params

    @property
    def errlog(self) -> TextIO:
        """Where a stdio server's stderr goes."""
        return self._errlog

    @property
    def _params(self) -> Params:
        return self._pool.params

    def get_tools(self, readonly_context: ReadonlyContext | None = None
                  ) -> Coroutine[Any, Any, list[BaseTool]]:
        """The server's tools (``tools/list``, every page), filtered, sorted by name.

        Opens this trio run's session if needed.  Bounded by the connection's
        ``timeout``; retried once on a new session if the session broke.  Cancellation
        stops the listing (the server is told).  Raises
        :class:`~trio_adk.errors.McpConnectionError`.  Await it from trio or asyncio.
        """
        return _on_trio(functools.partial(self._get_tools, readonly_context))

    async def _get_tools(self, readonly_context: ReadonlyContext | None) -> list[BaseTool]:
        tools: list[BaseTool] = []
        for listed in await self._list_tools():
            if listed.name in _RESERVED_NAMES:
                _log.warning("Skipping MCP tool %r: the name is reserved for the framework.",
                             listed.name)
                continue
            tool = McpTool(mcp_tool=listed, mcp_toolset=self)
            if self._is_tool_selected(tool, readonly_context):
                tools.append(tool)
        tools.sort(key=lambda tool: tool.name)
        return tools

    async def _list_tools(self) -> list[McpBaseTool]:
        what = describe(self._params)
        for attempt in (1, 2):
            owner, session = await self._pool.session()
            listed: list[McpBaseTool] = []
            try:
                with trio.fail_after(self._params.timeout):
                    cursor: str | None = None
                    while True:
                        page = await session.list_tools(
                            params=None if cursor is None else PaginatedRequestParams(
                                cursor=cursor))
                        listed.extend(page.tools)
                        cursor = page.next_cursor
                        if not cursor:
                            return listed
            except trio.TooSlowError:
                raise McpConnectionError(
                    f"{what} did not list its tools within {self._params.timeout} s (the "
                    "connection's timeout).") from None
            except MCPError as exc:
                if not (exc.code == CONNECTION_CLOSED or _session_gone(exc)):
                    raise McpConnectionError(
                        f"Failed to get tools from {what}: {exc}") from exc
                owner.request_stop()
                if attempt == 2:
                    raise McpConnectionError(
                        f"Failed to get tools from {what}: the session broke ({exc}).") from exc
        raise AssertionError("unreachable")

    async def _call_tool(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """``tools/call`` on this trio run's session (see :meth:`McpTool.run_async`)."""
        what = describe(self._params)
        for attempt in (1, 2):
            owner, session = await self._pool.session()
            try:
                return await session.call_tool(name, arguments=arguments)
            except MCPError as exc:
                if _session_gone(exc):
                    owner.request_stop()
                    if attempt == 1:
                        _log.info("%s no longer knows our session; calling %r on a new one.",
                                  what, name)
                        continue
                    raise McpConnectionError(
                        f"{what} dropped the new session too, calling {name!r}.") from exc
                if exc.code == CONNECTION_CLOSED or owner.closing:
                    owner.request_stop()
                    raise McpConnectionError(
                        f"The connection to {what} broke during the call of {name!r} (the "
                        "server exited or went away); the next call opens a new session."
                    ) from exc
                raise
        raise AssertionError("unreachable")

    @native
    def close(self) -> Coroutine[Any, Any, None]:
        """Close the sessions of every trio run: a stdio server is stopped and reaped.

        Bounded (each session has a few seconds to leave); calls in flight on them fail
        with :class:`~trio_adk.errors.McpConnectionError`.  Idempotent; the toolset may
        be used again afterwards (it opens new sessions).  Await it from trio or asyncio
        (``Runner.close()`` calls it); cancellation stops the waiting, not the closing.
        """
        return _on_trio(self._pool.aclose)

    def __deepcopy__(self, memo: dict[int, Any]) -> McpToolset:
        # Sessions belong to this object; a copy opens its own.
        clone = type(self).__new__(type(self))
        McpToolset.__init__(clone, connection_params=self._connection_params,
                            tool_filter=self.tool_filter,
                            tool_name_prefix=self.tool_name_prefix, errlog=self._errlog)
        return clone

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {describe(self._params)}, {len(self._pool)} session(s)>"


class MCPToolset(McpToolset):
    """Deprecated name of :class:`McpToolset` (warns, as in ADK)."""

    def __init__(self, **kwargs: Any) -> None:
        warnings.warn("MCPToolset class is deprecated, use `McpToolset` instead.",
                      DeprecationWarning, stacklevel=2)
        super().__init__(**kwargs)


class McpTool(BaseTool):
    """One tool of an MCP server, as :class:`McpToolset` lists it.

    Its declaration gives the model the tool's input schema (``parameters_json_schema``)
    and output schema as the server sent them, as ADK 2.13 does.
    """

    def __init__(self, *, mcp_tool: McpBaseTool, mcp_toolset: McpToolset) -> None:
        if mcp_tool.name in _RESERVED_NAMES:
            raise ValueError(f"MCP tool name {mcp_tool.name!r} collides with a reserved "
                             "ADK tool name.")
        super().__init__(name=mcp_tool.name, description=mcp_tool.description or "")
        self._mcp_tool = mcp_tool
        self._toolset = mcp_toolset

    @property
    def raw_mcp_tool(self) -> McpBaseTool:
        """The tool as the server listed it."""
        return self._mcp_tool

    def _get_declaration(self) -> types.FunctionDeclaration:
        return types.FunctionDeclaration(
            name=self.name, description=self.description,
            parameters_json_schema=self._mcp_tool.input_schema,
            response_json_schema=self._mcp_tool.output_schema)

    @native
    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        """Call the tool on the server (``tools/call``) in this trio run's session.

        Returns ADK's shape: ``{"content": [...], "structuredContent": ..., "isError":
        ...}``; an error the server reports for the call (a JSON-RPC error, a timeout of
        the connection's read timeout) returns ``{"error": "MCP tool execution failed:
        ..."}`` to the model, as ADK does.  A broken connection raises
        :class:`~trio_adk.errors.McpConnectionError` (the run fails; the next call opens
        a new session).  Cancelling the run cancels the call, and the server is sent
        ``notifications/cancelled``.  Runs on trio, in the run's task.
        """
        try:
            result = await self._toolset._call_tool(self._mcp_tool.name, dict(args))
        except McpConnectionError:
            raise
        except MCPError as exc:
            _log.warning("MCP tool %r failed: %s", self.name, exc)
            return {"error": f"MCP tool execution failed: {exc}"}
        except Exception as exc:
            _log.warning("Unexpected error during MCP tool %r: %s", self.name, exc,
                         exc_info=True)
            return {"error": f"Unexpected error during MCP tool execution: {exc}"}
        return tool_result(result)


class MCPTool(McpTool):
    """Deprecated name of :class:`McpTool` (warns, as in ADK)."""

    def __init__(self, **kwargs: Any) -> None:
        warnings.warn("MCPTool class is deprecated, use `McpTool` instead.",
                      DeprecationWarning, stacklevel=2)
        super().__init__(**kwargs)

"""Connection parameters, as ADK spells them."""

from __future__ import annotations

from typing import Any

from mcp import StdioServerParameters
from pydantic import BaseModel


class StdioConnectionParams(BaseModel):
    """A local MCP server started as a subprocess, spoken to over its stdin and stdout.

    ``timeout`` (seconds) bounds starting the server and its ``initialize`` answer, each
    ``tools/list``, and, as in ADK, waiting for each tool call's answer: raise it for
    tools that take longer.
    """

    server_params: StdioServerParameters
    timeout: float = 5.0


class SseConnectionParams(BaseModel):
    """A remote MCP server over the (legacy) HTTP+SSE transport.

    ``timeout`` bounds connecting, ``initialize`` and each ``tools/list``, and each HTTP
    operation; ``sse_read_timeout`` how long the event stream may stay silent, which
    also bounds waiting for a tool call's answer.
    """

    url: str
    headers: dict[str, Any] | None = None
    timeout: float = 5.0
    sse_read_timeout: float = 60 * 5.0


class StreamableHTTPConnectionParams(BaseModel):
    """A remote MCP server over the streamable HTTP transport.

    ``timeout`` bounds connecting, ``initialize`` and each ``tools/list``, and each HTTP
    operation; ``sse_read_timeout`` bounds reading a response stream, and so waiting for
    a tool call's answer.  ``terminate_on_close`` ends the server's session (an HTTP
    ``DELETE``) when the client session closes.
    """

    url: str
    headers: dict[str, Any] | None = None
    timeout: float = 5.0
    sse_read_timeout: float = 60 * 5.0
    terminate_on_close: bool = True


ConnectionParams = (StdioServerParameters | StdioConnectionParams | SseConnectionParams
                    | StreamableHTTPConnectionParams)

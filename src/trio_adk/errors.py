"""The exceptions trio-adk raises on purpose.

Every error says what was wrong and, where it can, what to do instead.  Errors that
mirror ADK's keep ADK's base classes (``SessionNotFoundError`` is a ``ValueError``) so
ported ``except`` clauses keep working.
"""

from __future__ import annotations


class SessionNotFoundError(ValueError):
    """The session named by a run does not exist for this app and user.

    The message starts with ``Session not found: <id>``.  Create the session first with
    ``session_service.create_session(...)``, or construct the runner with
    ``auto_create_session=True``.
    """


class InvocationNotFoundError(ValueError):
    """No event of the session belongs to the invocation named (``Runner.rewind_async``).

    The message starts with ``Invocation ID not found: <id>``, as ADK's does.  Pass the
    ``invocation_id`` of one of the session's events.  A ``ValueError``, as ADK's is (its
    other base, ADK's ``NotFoundError``, has no counterpart here).
    """


class AlreadyExistsError(ValueError):
    """Something with this id exists already (for example a session)."""


class LlmCallsLimitExceededError(Exception):
    """An invocation made more model calls than ``RunConfig.max_llm_calls`` allows."""


class RunnerClosedError(RuntimeError):
    """The runner was closed: no new runs start, and in-flight runs end with this."""


class BatchCancelledError(Exception):
    """A batch request did not run to the end: another request failed and the batch was
    started with ``fail_fast=True``."""


class SessionBusyError(RuntimeError):
    """A run was started on a session that already has one in flight (in this runner,
    another runner over the same session service, or another process or host sharing
    its database), and the runner rejects concurrent runs
    (``session_concurrency="reject"``)."""


class StaleSessionError(ValueError):
    """An append was refused because the session changed in storage since this copy
    was loaded (another writer appended first).

    Nothing was stored.  Load the session again (``get_session``) and retry on the
    fresh copy.  Same name and base class as ADK's, so ported ``except`` clauses work.
    """


class StorageError(RuntimeError):
    """A durable store failed: the database is unreachable or restarted, the disk is
    full or read-only, or a file is damaged.

    The message names the store and what failed; the driver's error is the
    ``__cause__``.  A write that raised this stored nothing (each write is one
    transaction).  Credentials never appear in the message.
    """


class UnsupportedStorageFormatError(StorageError):
    """The database holds a layout this version cannot use (for example ADK's legacy
    pickle layout); the message says which tool converts it."""


class ModelConfigError(ValueError):
    """A model cannot be used as configured (for example no API key and no base URL)."""


class ModelConnectionError(ConnectionError):
    """The model service could not be reached, or the connection broke, after retries.

    HTTP errors from the service are raised as ``google.genai.errors.ClientError`` (4xx)
    and ``ServerError`` (5xx) instead, as the official client does.
    """


class ModelResponseError(ValueError):
    """The model service answered with something unusable: a malformed body, or a stream
    cut off before its end.  Never a silently truncated reply."""


class ToolNotFoundError(ValueError):
    """The model called a tool that the agent does not have."""


class AgentTreeError(ValueError):
    """The agent tree is malformed: a bad name, a name used twice in one tree, an agent
    listed twice or with two parents, a cycle, an unknown agent.

    Raised by ``validate_tree`` before a run; while an agent is being built, pydantic
    wraps it in its ``ValidationError`` (also a ``ValueError``), as in ADK.
    """


__all__ = [
    "AgentTreeError",
    "AlreadyExistsError",
    "BatchCancelledError",
    "InvocationNotFoundError",
    "LlmCallsLimitExceededError",
    "ModelConfigError",
    "ModelConnectionError",
    "ModelResponseError",
    "RunnerClosedError",
    "SessionBusyError",
    "SessionNotFoundError",
    "ToolNotFoundError",
]


class LiveTimeoutError(ModelConnectionError, TimeoutError):
    """The Live endpoint did not complete the opening (TCP, TLS and WebSocket handshakes,
    or the ``setup`` → ``setupComplete`` exchange) in time, or a send stalled."""


class LiveConnectionClosedError(ModelConnectionError):
    """The Live WebSocket is closed: by the server (during setup, or before a send), by a
    dropped TCP connection (code 1006), or locally.

    ``code`` is the WebSocket close code (1007 invalid argument, 1008 policy violation
    such as a bad API key or unknown model, 1011 internal error or quota, ...) and
    ``reason`` the server's text, if any.
    """

    def __init__(self, message: str, *, code: int, reason: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class McpConnectionError(ConnectionError):
    """An MCP server could not be reached, or the connection to it broke.

    Raised by ``McpToolset`` and its tools when the server cannot be started or
    connected to (or does not answer ``initialize`` within the connection's ``timeout``),
    and when it dies or drops the session in the middle of a call: a stdio server that
    exits, an HTTP server that goes away.  The session is discarded (a stdio server is
    killed and reaped), and the next call opens a new one.  Errors the server reports
    for one call (an unknown tool, bad arguments, a tool that failed) are not this: the
    model receives them as the tool's result, as in ADK.  A ``ConnectionError``, as the
    error ADK raises, so ported ``except`` clauses keep working.
    """

"""One line a person can act on, from the exception a command ended with.

trio nurseries wrap what fails in exception groups, and the model layer chains the transport
error under its own; :func:`describe` digs out the leaf that matters and says what went wrong
and what to check.  :func:`redact` keeps API keys out of everything the command line prints.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs
import httpx
import trio
from google.genai import errors as genai_errors

from trio_adk.errors import (
    LiveConnectionClosedError,
    ModelConfigError,
    ModelConnectionError,
    ModelResponseError,
)

API_KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
"""The environment variables an API key is read from; their values are never printed."""

_KEY_HINT = "Check GOOGLE_API_KEY (or GEMINI_API_KEY)."
_DEBUG_HINT = "Run again with --debug to see the traceback."
_MESSAGE_LIMIT = 300


@attrs.frozen
class ModelServer:
    """Who a command's model calls go to, as error messages name it.

    ``name`` completes "cannot reach ..." (``"the model server at http://127.0.0.1:8765"``,
    ``"the Gemini API"``); ``check`` says what to look at when it cannot be reached
    (``"Check --base-url or GOOGLE_GEMINI_BASE_URL."``).
    """

    name: str
    check: str


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc`` that are not groups, depth first (``[exc]`` if it is not
    a group)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def _related(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then everything chained to it (causes, contexts, group members), each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _one_line(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _sentence(text: str) -> str:
    text = _one_line(text).rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


_KNOWN: tuple[type[BaseException], ...] = (
    ModelConfigError, ModelConnectionError, ModelResponseError, genai_errors.APIError,
    BrokenPipeError,
)


def leaf_that_matters(exc: BaseException) -> BaseException:
    """The exception to report: the first leaf of a kind :func:`describe` knows, else the first
    leaf that is not a cancellation (else ``exc`` itself)."""
    found = [leaf for leaf in leaves(exc) if not isinstance(leaf, trio.Cancelled)]
    for leaf in found:
        if isinstance(leaf, _KNOWN) or _address_in_use(leaf):
            return leaf
    return found[0] if found else exc


def _address_in_use(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE


def _connection_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words, from the lowest cause that says so."""
    for cause in _related(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is the server running?)"
        if isinstance(cause, socket.gaierror):
            return f"the host name does not resolve ({cause.strerror})"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (f"its TLS certificate is not trusted ({cause.verify_message}); "
                    "SSL_CERT_FILE can name a CA file to trust")
        if isinstance(cause, (TimeoutError, trio.TooSlowError, httpx.TimeoutException)):
            return "no answer in time"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset"
    return _one_line(str(exc))


def _error_reason(details: Any) -> str | None:
    """The ``google.rpc.ErrorInfo`` reason of a Google error body (``API_KEY_INVALID``)."""
    error = details.get("error") if isinstance(details, Mapping) else None
    entries = error.get("details") if isinstance(error, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("reason"), str):
            return str(entry["reason"])
    return None


def _describe_api_error(exc: genai_errors.APIError, server: ModelServer) -> str:
    message = (exc.message or "no message").strip().rstrip(".")
    what = _one_line(f"{exc.code} {exc.status or ''}: {message}")
    reason = _error_reason(exc.details)
    if (reason or "").startswith("API_KEY") or exc.code == 401:
        return f"{server.name} rejected the API key ({what}). {_KEY_HINT}"
    if exc.code == 403:
        return (f"{server.name} denied access ({what}). Check that the API key in "
                "GOOGLE_API_KEY (or GEMINI_API_KEY) may use this model.")
    if exc.code == 404:
        return f"{server.name} does not know the model or method ({what}). Check the model name."
    if exc.code == 429:
        return (f"{server.name} refused the call: quota or rate limit exceeded ({what}). "
                "Wait a little and try again, or check your quota.")
    if isinstance(exc, genai_errors.ServerError):
        return f"{server.name} failed ({what}). Try again later."
    return f"{server.name} refused the request ({what})."


def describe(exc: BaseException, server: ModelServer) -> str:
    """One line saying what went wrong and what to do, for the exception a command ended with.

    ``exc`` may be an exception group: the leaf that matters is picked by
    :func:`leaf_that_matters`.  The line has no ``trio-adk: error:`` prefix and is not
    redacted (see :func:`redact`).
    """
    leaf = leaf_that_matters(exc)
    if isinstance(leaf, ModelConfigError):
        return _sentence(str(leaf))
    if isinstance(leaf, LiveConnectionClosedError):
        reason = _one_line(leaf.reason or "no reason given").rstrip(".")
        if leaf.code == 1008 and "key" in reason.lower():
            return f"{server.name} rejected the API key (Live close {leaf.code}: {reason}). " \
                   f"{_KEY_HINT}"
        if leaf.code == 1008:
            return (f"{server.name} refused the Live session (close {leaf.code}: {reason}). "
                    "Check the API key and the model name.")
        return f"{server.name} closed the Live connection (close {leaf.code}: {reason})."
    if isinstance(leaf, ModelConnectionError):
        return f"cannot reach {server.name}: {_connection_reason(leaf)}. {server.check}"
    if isinstance(leaf, genai_errors.APIError):
        return _describe_api_error(leaf, server)
    if isinstance(leaf, ModelResponseError):
        return f"{server.name} sent a reply that cannot be used: {_sentence(str(leaf))}"
    if _address_in_use(leaf):
        return (f"cannot listen: the address is already in use ({_one_line(str(leaf))}). "
                "Stop the program using that port or choose another port.")
    text = f"{type(leaf).__name__}: {leaf}" if str(leaf) else type(leaf).__name__
    return f"{_sentence(text)} {_DEBUG_HINT}"


def api_keys(environ: Mapping[str, str] | None = None) -> list[str]:
    """The API keys set in ``environ`` (default ``os.environ``): values never to print."""
    env = os.environ if environ is None else environ
    values = [env.get(name, "") for name in API_KEY_VARIABLES]
    return [key for value in values for key in {value, value.strip()} if key]


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``<redacted>``, longest first
    (so a key containing another is replaced whole)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "<redacted>")
    return text

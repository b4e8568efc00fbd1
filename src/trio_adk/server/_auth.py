"""Who is calling: the server's auth seam (none, bearer tokens, a proxy's user header).

ADK's server authenticates nobody and takes the user from the path or the body, so any
caller may read or delete any user's sessions.  trio-adk keeps that as the default
(``auth=None``: loopback development) and offers:

* :class:`BearerAuth`: ``Authorization: Bearer <token>``, each token optionally bound to a
  user id; tokens are compared in constant time (as SHA-256 digests, every token every
  time) and never appear in logs, reprs or error bodies.  A missing or wrong token gets
  401 with ``WWW-Authenticate: Bearer``.
* :class:`HeaderAuth`: the user id from a header that a trusted reverse proxy sets
  (``X-Forwarded-User``, for example after OAuth2 Proxy or IAP).  Only meaningful behind
  a proxy that sets the header itself and strips it from what clients send: anyone who
  can reach the server directly can claim any user.
* a **strict** user binding (``ApiServer(strict_user=True)``) on top of either: the
  ``{user_id}`` of a path (sessions, artifacts, memory), ``userId`` in a ``/run`` or
  ``/run_sse`` body and ``user_id`` of ``/run_live`` must be the caller's user, else 403.

Any object with an ``authenticate`` coroutine (:class:`Authenticator`) plugs in the same
way: return a :class:`Caller`, or raise :class:`AuthError`.

``GET /health`` and CORS preflights (``OPTIONS``) are answered without authentication, so
load balancers and browsers can reach them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import attrs
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from trio_adk._utils._checks import check_id

CALLER_KEY = "trio_adk.caller"
"""The ASGI scope key holding the request's :class:`Caller` once authenticated."""

STRICT_KEY = "trio_adk.strict_user"
"""The ASGI scope key that is true when the caller must act as their own user only."""

DEFAULT_TOKENS_ENV = "TRIO_ADK_AUTH_TOKENS"
DEFAULT_USER_HEADER = "X-Forwarded-User"
PUBLIC_PATHS = frozenset({"/health"})

_PATH_USER = re.compile(r"/apps/[^/]+/users/([^/]+)")


@attrs.frozen
class Caller:
    """Who made a request: the user id they act as, or ``None`` (bound to no user)."""

    user_id: str | None = None


class AuthError(Exception):
    """Refuses a request: ``status`` 401 (who are you?) or 403 (not allowed).

    ``challenge`` is the ``WWW-Authenticate`` value of a 401.  The message is sent to the
    client as ``{"detail": message}``: never put a credential in it.
    """

    def __init__(self, message: str, *, status: int = 401,
                 challenge: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.challenge = challenge


@runtime_checkable
class Authenticator(Protocol):
    """What the server asks of an auth scheme (HTTP requests and WebSocket handshakes alike).

    ``authenticate`` returns the :class:`Caller` or raises :class:`AuthError`.  It runs in
    the request's task before any route: if it is cancelled (the server shuts down, the
    client leaves), the request ends with it.
    """

    async def authenticate(self, connection: HTTPConnection) -> Caller: ...


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_tokens(text: str, *, source: str) -> dict[str, str | None]:
    """Tokens from ``text``: entries separated by newlines or commas, each ``USER:TOKEN``
    (the token acts as ``USER``) or ``TOKEN`` alone (bound to no user; a token alone must not
    contain ``:``).  Blank entries and lines starting with ``#`` are skipped.

    Errors name ``source`` and the entry's number, never its text.
    """
    tokens: dict[str, str | None] = {}
    number = 0
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        for entry in line.split(","):
            entry = entry.strip()
            if not entry:
                continue
            number += 1
            user, colon, token = entry.partition(":")
            if not colon:
                user, token = "", entry
            token = token.strip()
            if not token:
                raise ValueError(f"{source}: entry {number} has an empty token.")
            if colon:
                try:
                    check_id(user.strip(), "user_id")
                except (TypeError, ValueError):
                    raise ValueError(f"{source}: entry {number} has an invalid user id.") from None
            tokens[token] = user.strip() if colon else None
    if not tokens:
        raise ValueError(f"{source} holds no tokens.")
    return tokens


class BearerAuth:
    """``Authorization: Bearer <token>`` against a fixed set of tokens.

    Args:
        tokens: Token to user id (``None``: the token is bound to no user, which strict mode
            refuses).  Only SHA-256 digests are kept.

    Every presented token is compared with every known digest (``hmac.compare_digest``), so
    the time taken says nothing about which token nearly matched.
    """

    challenge = 'Bearer realm="trio-adk"'

    def __init__(self, tokens: Mapping[str, str | None]) -> None:
        if not tokens:
            raise ValueError("BearerAuth needs at least one token.")
        self._digests: tuple[tuple[bytes, str | None], ...] = tuple(
            (_digest(token), user) for token, user in tokens.items())

    @classmethod
    def from_env(cls, name: str = DEFAULT_TOKENS_ENV) -> BearerAuth:
        """Tokens from environment variable ``name`` (see :func:`parse_tokens`)."""
        text = os.environ.get(name)
        if not text:
            raise ValueError(f"Environment variable {name} is not set or empty.")
        return cls(parse_tokens(text, source=f"${name}"))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> BearerAuth:
        """Tokens from a file, one entry a line (see :func:`parse_tokens`)."""
        return cls(parse_tokens(Path(path).read_text(), source=os.fspath(path)))

    def __repr__(self) -> str:
        return f"<BearerAuth {len(self._digests)} token(s)>"

    async def authenticate(self, connection: HTTPConnection) -> Caller:
        header = connection.headers.get("authorization")
        if header is None:
            raise AuthError("Not authenticated: send Authorization: Bearer <token>.",
                            challenge=self.challenge)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("Not authenticated: send Authorization: Bearer <token>.",
                            challenge=f'{self.challenge}, error="invalid_request"')
        presented = _digest(token)
        found: list[str | None] = []
        for digest, user in self._digests:  # no early exit
            if hmac.compare_digest(presented, digest):
                found.append(user)
        if not found:
            raise AuthError("Invalid bearer token.",
                            challenge=f'{self.challenge}, error="invalid_token"')
        return Caller(found[0])


@attrs.frozen
class HeaderAuth:
    """The user id from a header a trusted reverse proxy sets (default ``X-Forwarded-User``).

    Only safe behind a proxy that sets the header itself and drops any copy a client sent:
    a client that reaches the server directly can name any user.  A request without the
    header (or with a value that is not a valid user id) gets 401.
    """

    header: str = DEFAULT_USER_HEADER

    async def authenticate(self, connection: HTTPConnection) -> Caller:
        value = connection.headers.get(self.header)
        if value is None or not value.strip():
            raise AuthError(f"Not authenticated: no {self.header} header (set by the proxy).")
        try:
            return Caller(check_id(value.strip(), "user_id"))
        except (TypeError, ValueError):
            raise AuthError(f"Not authenticated: {self.header} is not a valid user id.") from None


def require_user(scope: Scope, user_id: str) -> None:
    """Raise :class:`AuthError` (403) when the request is user-bound and ``user_id`` is not
    the caller's user; a no-op for servers without strict binding."""
    if not scope.get(STRICT_KEY):
        return
    caller: Caller | None = scope.get(CALLER_KEY)
    if caller is None or caller.user_id is None:
        raise AuthError("Forbidden: these credentials are bound to no user.", status=403)
    if caller.user_id != user_id:
        raise AuthError(f"Forbidden: user {user_id!r} is not the authenticated user.",
                        status=403)


def _route_path(scope: Scope) -> str:
    """The request's path without the ``root_path`` it is mounted under."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root + "/") else path


def path_user(path: str) -> str | None:
    """The ``{user_id}`` of an ``/apps/{app}/users/{user_id}/...`` path, if any."""
    found = _PATH_USER.search(path)
    return found.group(1) if found else None


def _refusal(error: AuthError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"detail": str(error)}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if error.status == 401 and error.challenge:
        headers.append((b"www-authenticate", error.challenge.encode("latin-1")))
    return error.status, headers, body


async def refuse(scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]],
                 body: bytes) -> None:
    """Answer an HTTP request, or refuse a WebSocket handshake, with ``status``.

    A WebSocket handshake gets the HTTP response when the server supports ASGI's
    ``websocket.http.response`` extension (hypercorn does); otherwise it is closed (the
    client sees 403).
    """
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


class AuthMiddleware:
    """Authenticates every HTTP request and WebSocket handshake (except ``/health`` and
    CORS preflights) and, with ``strict``, binds the path's and the query's user to the
    caller.  The caller is put in the scope (:data:`CALLER_KEY`) for the routes."""

    def __init__(self, app: ASGIApp, auth: Authenticator, strict: bool = False,
                 public_paths: Iterable[str] = PUBLIC_PATHS) -> None:
        self.app = app
        self.auth = auth
        self.strict = strict
        self.public_paths = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or (
                scope["type"] == "http" and (scope.get("method") == "OPTIONS"
                                            or _route_path(scope) in self.public_paths)):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        try:
            caller = await self.auth.authenticate(connection)
            scope = {**scope, CALLER_KEY: caller, STRICT_KEY: self.strict}
            user = path_user(scope.get("path", ""))
            if user is not None:
                require_user(scope, user)
            if scope["type"] == "websocket" and "user_id" in connection.query_params:
                require_user(scope, connection.query_params["user_id"])
        except AuthError as error:
            await refuse(scope, send, *_refusal(error))
            return
        await self.app(scope, receive, send)


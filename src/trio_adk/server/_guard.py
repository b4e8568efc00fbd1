"""Who may call the server from a browser: CORS, the Origin check and the DNS-rebinding guard.

ADK 2.13's rules, kept exactly:

* ``allow_origins`` lists literal origins and ``regex:``-prefixed patterns (joined with
  ``|``, matched whole); ``"*"`` allows every origin.  With any, Starlette's CORS middleware
  answers preflights and adds the headers.
* A request whose ``Origin`` is not allowed gets ``403 Forbidden: origin not allowed``.
  Without ``allow_origins`` only same-origin requests pass (the Origin equals the origin the
  request was sent to, from ``Forwarded``, ``X-Forwarded-Host``/``-Proto`` or ``Host``),
  and on a loopback bind the Origin must be a loopback host too.  No Origin (curl, SDKs):
  allowed.
* DNS rebinding: on a loopback bind, a request whose ``Host`` names another host (one not
  vouched for by a literal ``allow_origins`` entry) gets ``403 Forbidden: host not allowed``,
  whatever its method; so does a request with several Host headers.
* ``ADK_DEFAULT_APP_NAME``: paths ``/users/...``, ``/app-info`` and ``/trigger/...`` are
  served as ``/apps/<default>/...``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import attrs
from starlette.types import ASGIApp, Receive, Scope, Send

REGEX_PREFIX = "regex:"


@attrs.frozen
class OriginPolicy:
    """The browser-facing rules of one server (see the module docstring)."""

    literal: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    bind_host: str | None = None

    @classmethod
    def from_options(cls, allow_origins: Iterable[str], bind_host: str | None) -> OriginPolicy:
        """Split ``--allow_origins`` values into literal origins and one regex."""
        literal: list[str] = []
        patterns: list[str] = []
        for origin in allow_origins:
            if origin.startswith(REGEX_PREFIX):
                if origin[len(REGEX_PREFIX):]:
                    patterns.append(origin[len(REGEX_PREFIX):])
            else:
                literal.append(origin)
        pattern = re.compile("|".join(patterns)) if patterns else None
        return cls(tuple(literal), pattern, bind_host)

    @property
    def configured(self) -> bool:
        """Whether any origin was allowed explicitly."""
        return bool(self.literal) or self.pattern is not None

    @property
    def cors_regex(self) -> str | None:
        """The regex for Starlette's CORS middleware."""
        return None if self.pattern is None else self.pattern.pattern

    def _vouched_hosts(self) -> frozenset[str] | None:
        """Hosts besides loopback that a loopback bind accepts in Host (None: all)."""
        if "*" in self.literal:
            return None
        hosts = set()
        for origin in self.literal:
            try:
                host = urlsplit(origin).hostname
            except ValueError:
                continue
            if host:
                hosts.add(host.lower())
        return frozenset(hosts)

    def rebinding(self, scope: Scope) -> bool:
        """Whether the request must be refused as possible DNS rebinding."""
        vouched = self._vouched_hosts()
        if vouched is None or self.bind_host is None or not is_loopback(self.bind_host):
            return False
        hosts = [value.decode("latin-1").strip() for name, value in scope.get("headers", ())
                 if name.lower() == b"host"]
        if not hosts:
            return False
        if len(hosts) > 1 or "," in hosts[0]:
            return True
        if is_loopback(hosts[0]):
            return False
        return _without_port(hosts[0]).lower().rstrip(".") not in vouched

    def origin_allowed(self, origin: str, scope: Scope) -> bool:
        """Whether a request carrying ``Origin: origin`` may proceed."""
        if self.configured and ("*" in self.literal or origin in self.literal or (
                self.pattern is not None and self.pattern.fullmatch(origin) is not None)):
            return True
        bound = self.bind_host if self.bind_host is not None else _server_host(scope)
        if not self.configured and bound is not None and is_loopback(bound):
            try:
                origin_host = urlsplit(origin).hostname or ""
            except ValueError:
                return False
            if not is_loopback(origin_host):
                return False
        return origin == request_origin(scope)


def _without_port(host: str) -> str:
    """``host`` without a valid ``:port`` (a malformed authority comes back whole)."""
    if host.startswith("["):
        inner, closed, rest = host[1:].partition("]")
        if not closed or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return host
        return inner
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name if port.isdigit() else host
    return host


def is_loopback(host: str) -> bool:
    """Whether ``host`` (with or without a port) is ``localhost`` or a loopback address."""
    bare = _without_port(host).lower().rstrip(".")
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (its first comma-separated element)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text.split(",", 1)[0].strip()
    return None


def _server_host(scope: Scope) -> str | None:
    server = scope.get("server")
    return str(server[0]) if server and len(server) == 2 else None


def _browser_scheme(scheme: str) -> str:
    return {"ws": "http", "wss": "https"}.get(scheme, scheme)


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def request_origin(scope: Scope) -> str | None:
    """The origin this request was addressed to, as a browser would write it."""
    forwarded = _header(scope, b"forwarded")
    if forwarded is not None:
        fields: dict[str, str] = {}
        for element in forwarded.split(";"):
            name, eq, value = element.partition("=")
            if eq:
                fields[name.strip().lower()] = _unquote(value.strip())
        if "proto" in fields and "host" in fields:
            return f"{_browser_scheme(fields['proto'])}://{fields['host']}"
    host = _header(scope, b"x-forwarded-host") or _header(scope, b"host")
    if host is None:
        return None
    scheme = _header(scope, b"x-forwarded-proto") or str(scope.get("scheme", "http"))
    return f"{_browser_scheme(scheme)}://{host}"


async def _forbid(send: Send, reason: str) -> None:
    body = f"Forbidden: {reason}".encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class OriginCheckMiddleware:
    """Refuses HTTP requests from other origins and rebound hosts with a plain 403.

    WebSockets pass through: ``/run_live`` applies the same checks itself and closes with
    1008, as ADK does.
    """

    def __init__(self, app: ASGIApp, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.policy.rebinding(scope):
                await _forbid(send, "host not allowed")
                return
            origin = _header(scope, b"origin")
            if origin is not None and not self.policy.origin_allowed(origin, scope):
                await _forbid(send, "origin not allowed")
                return
        await self.app(scope, receive, send)


_DEFAULT_APP_PATHS = re.compile(r"^/users/|^/app-info$|^/trigger/")


class DefaultAppMiddleware:
    """Serves ``/users/...``, ``/app-info`` and ``/trigger/...`` as ``/apps/<default>/...``."""

    def __init__(self, app: ASGIApp, default_app_name: str | None) -> None:
        self.app = app
        self.default_app_name = default_app_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.default_app_name and scope["type"] in ("http", "websocket"):
            path = scope.get("path", "")
            if _DEFAULT_APP_PATHS.match(path):
                scope = dict(scope)
                scope["path"] = f"/apps/{self.default_app_name}{path}"
                if "raw_path" in scope:
                    scope["raw_path"] = scope["path"].encode("latin-1")
        await self.app(scope, receive, send)


"""Request routing: which Gemini endpoint a request target names."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

import attrs

from trio_adk.testing._fake_gemini._records import RequestKind

_VERSION = r"v1(?:beta|alpha)?"
_REST = re.compile(
    rf"^/(?P<version>{_VERSION})/(?P<model>(?:models|tunedModels)/[^/:]+)"
    r":(?P<method>generateContent|streamGenerateContent)$"
)
_LIVE = re.compile(
    rf"^/ws/google\.ai\.generativelanguage\.(?P<version>{_VERSION})\.GenerativeService\."
    r"(?P<method>BidiGenerateContent|BidiGenerateContentConstrained)$"
)


@attrs.frozen(kw_only=True)
class Route:
    """The parsed request target: path (leading slashes collapsed), query, matched endpoint."""

    path: str
    query: dict[str, str]
    kind: RequestKind
    api_version: str | None = None
    model: str | None = None
    stream: bool = False
    sse: bool = False


def split_target(target: str) -> tuple[str, dict[str, str]]:
    """``"//v1beta/x?alt=sse"`` → ``("/v1beta/x", {"alt": "sse"})`` (last value of a repeat)."""
    path, _, query = target.partition("?")
    path = "/" + unquote(path).lstrip("/")
    return path, dict(parse_qsl(query, keep_blank_values=True))


def match_route(method: str, target: str) -> Route:
    """Route a request: REST model calls need ``POST``, the Live endpoint ``GET``."""
    path, query = split_target(target)
    rest = _REST.match(path)
    if rest is not None and method == "POST":
        stream = rest["method"] == "streamGenerateContent"
        kind: RequestKind = "streamGenerateContent" if stream else "generateContent"
        return Route(path=path, query=query, kind=kind, api_version=rest["version"],
                     model=rest["model"], stream=stream,
                     sse=stream and query.get("alt") == "sse")
    live = _LIVE.match(path)
    if live is not None and method == "GET":
        return Route(path=path, query=query, kind="live", api_version=live["version"])
    return Route(path=path, query=query, kind="unknown")

"""Page tokens for ``list_sessions``: an opaque cursor over (update time, user, id).

Sessions are listed oldest update first (as ADK lists them), ties broken by user id and
session id, so a page boundary is one key and the next page starts strictly after it
(keyset pagination: each page costs the same whatever its position).
"""

from __future__ import annotations

import base64
import binascii
import json

import attrs


@attrs.frozen
class PageKey:
    """The last session of a page: where the next page starts (exclusive)."""

    update_time: float
    user_id: str
    session_id: str


def encode_page_token(key: PageKey) -> str:
    """An opaque, URL-safe token for the page after ``key``."""
    raw = json.dumps([key.update_time, key.user_id, key.session_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> PageKey:
    """The key a token from :func:`encode_page_token` names.

    Raises:
        ValueError: the token was not made by ``list_sessions`` (or was altered).
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        update_time, user_id, session_id = json.loads(raw)
        if not (isinstance(update_time, int | float) and isinstance(user_id, str)
                and isinstance(session_id, str)):
            raise TypeError
        return PageKey(float(update_time), user_id, session_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"page_token {token[:40]!r} is not a token list_sessions returned; pass the "
            "next_page_token of the previous page, or None for the first page."
        ) from exc

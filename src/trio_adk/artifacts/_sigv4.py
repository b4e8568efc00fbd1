"""AWS Signature Version 4 for single requests (headers, not presigned URLs).

Pure functions, no I/O: callable from any thread.  The secret key is only used to
derive the signing key and never leaves this module.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SPACES = re.compile(r"\s+")


class Credentials:
    """An access key pair (and session token); the secret is kept out of ``repr``."""

    __slots__ = ("_secret", "access_key_id", "session_token")

    def __init__(self, access_key_id: str, secret_access_key: str,
                 session_token: str | None = None) -> None:
        self.access_key_id = access_key_id
        self._secret = secret_access_key
        self.session_token = session_token

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key=<hidden>)"

    def signing_key(self, day: str, region: str, service: str) -> bytes:
        key = _hmac(f"AWS4{self._secret}".encode(), day)
        for part in (region, service, "aws4_request"):
            key = _hmac(key, part)
        return key


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def uri_encode(text: str, *, keep_slash: bool) -> str:
    """Percent-encode every byte except ``A-Z a-z 0-9 - _ . ~`` (and ``/`` if kept)."""
    return quote(text, safe="/~" if keep_slash else "~")


def canonical_query(params: Mapping[str, str]) -> str:
    pairs = sorted((uri_encode(k, keep_slash=False), uri_encode(v, keep_slash=False))
                   for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def sign(*, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
         payload_sha256: str, credentials: Credentials, region: str, service: str,
         now: datetime) -> dict[str, str]:
    """Return the headers to add (``x-amz-date``, ``Authorization``, the session token)
    so that ``method path?query`` with ``headers`` (which must include ``host``) is
    signed.  ``path`` is already URI-encoded (S3 encodes it once); ``now`` is UTC.
    """
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    added = {"x-amz-date": stamp}
    if credentials.session_token:
        added["x-amz-security-token"] = credentials.session_token
    all_headers = {k.lower(): _SPACES.sub(" ", v.strip()) for k, v in headers.items()}
    all_headers.update(added)
    names = sorted(all_headers)
    signed_headers = ";".join(names)
    canonical_request = "\n".join([
        method,
        path or "/",
        canonical_query(query),
        "".join(f"{name}:{all_headers[name]}\n" for name in names),
        signed_headers,
        payload_sha256,
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", stamp, scope,
        hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
    ])
    signature = hmac.new(credentials.signing_key(day, region, service),
                         string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    added["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}")
    return added

"""S3ArtifactService: artifacts in an S3-compatible bucket, in ADK's GCS key layout."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote

import httpx
import trio
from google.genai import types

from trio_adk.artifacts._base import ArtifactVersion, BaseArtifactService
from trio_adk.artifacts._layout import (
    RunLimiters,
    check_segment,
    is_rewind_marker,
    part_payload,
    split_filename,
)
from trio_adk.artifacts._sigv4 import Credentials, canonical_query, sign, uri_encode
from trio_adk.errors import StorageError

logger = logging.getLogger("trio_adk.artifacts.s3")

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Object metadata names (S3 lower-cases them; ADK's GCS service spells them adkIsText...).
_IS_TEXT = "x-amz-meta-adkistext"
_DISPLAY_NAME = "x-amz-meta-adkdisplayname"
_CUSTOM = "x-amz-meta-adkcustommetadata"
_MAX_USER_METADATA = 2048  # bytes of x-amz-meta-* names and values S3 accepts
_SAVE_ATTEMPTS = 10
_HASH_IN_THREAD = 1 << 20
_CLOSE_TIMEOUT = 5.0


class S3ArtifactService(BaseArtifactService):
    """Keeps artifacts in an S3 bucket (AWS, or any S3-compatible server via
    ``endpoint_url``) under the keys google-adk's ``GcsArtifactService`` uses::

        {prefix}{app}/{user}/{session}/{filename}/{version}
        {prefix}{app}/{user}/user/{filename}/{version}       for 'user:...' files

    (``filename`` keeps its ``user:`` prefix in the key, as in ADK.)  A version is one
    object: its body is the payload, ``Content-Type`` its MIME type (``text/plain`` for
    text), and object metadata says the rest: ``adkistext: true`` for text,
    ``adkdisplayname`` and ``adkcustommetadata`` (JSON) percent-encoded.  S3 allows
    2 KB of such metadata: larger ``custom_metadata`` raises ``ValueError`` before
    anything is sent.  Session id ``user`` is refused (it would be the user scope).
    Filenames follow the file store's rules (``trio_adk.artifacts._layout``).

    Requests are signed with AWS Signature V4 (``region``, default ``AWS_REGION``,
    ``AWS_DEFAULT_REGION`` or ``us-east-1``) using ``access_key_id`` /
    ``secret_access_key`` / ``session_token``, or ``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN`` when not given.  The secret
    never appears in ``repr``, logs or errors and is never sent (only signatures are);
    redirects are not followed.  With ``endpoint_url`` the bucket is addressed in the
    path (``{endpoint}/{bucket}/{key}``), otherwise as ``{bucket}.s3.{region}.amazonaws.com``.

    Saves are create-only (``If-None-Match: *``): two writers racing for a version
    number both succeed with different numbers (on servers that honour the header).
    Listings follow ``ListObjectsV2`` continuation tokens (``page_size`` keys a page).
    HTTP and network failures raise ``trio_adk.errors.StorageError`` with the status
    and S3 error code.

    Threads and cancellation: the methods are awaited from trio tasks (or asyncio via
    the guest run), from any number of trio runs at once; each call uses its own HTTP
    connection, closed (shielded, at most 5 s) when it ends.  Cancellation stops the
    request in flight.  A version object appears whole or not at all, so a cancelled
    save stored either a complete version or nothing (which one is unknown if the
    cancel came while the request was in flight: ``list_versions`` tells).  A cancelled
    delete may leave some versions of the file.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        page_size: int = 1000,
        timeout: float = 30.0,
    ) -> None:
        if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise ValueError(
                f"bucket {bucket!r} is not an S3 bucket name: 3-63 lowercase letters, "
                "digits, dots and hyphens, starting and ending with a letter or digit.")
        self.bucket = bucket
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION") or "us-east-1"
        if not re.fullmatch(r"[a-z0-9-]+", self.region):
            raise ValueError(f"region {self.region!r} is not an AWS region name "
                             "(like 'us-east-1').")
        if endpoint_url is None:
            self._base = f"https://{bucket}.s3.{self.region}.amazonaws.com"
            self._bucket_path = ""
        else:
            url = httpx.URL(endpoint_url) if isinstance(endpoint_url, str) else None
            if (url is None or url.scheme not in ("http", "https") or not url.host
                    or url.userinfo or url.query or url.fragment):
                raise ValueError(
                    f"endpoint_url must be an http(s) URL without credentials, query or "
                    f"fragment, like 'http://127.0.0.1:9000'; got {endpoint_url!r}.")
            self._base = str(url.copy_with(path="/")).rstrip("/") + url.path.rstrip("/")
            self._bucket_path = "/" + bucket
        self.endpoint_url = self._base
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}.")
        if prefix:
            parts = prefix.strip("/").split("/")
            if prefix.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise ValueError(f"prefix {prefix!r} must be a relative key prefix like "
                                 "'agents/prod/' (no empty, '.' or '..' segments).")
            prefix = "/".join(parts) + "/"
        self.prefix = prefix
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not (
                1 <= page_size <= 1000):
            raise ValueError(f"page_size must be an int from 1 to 1000, got {page_size!r}.")
        self._page_size = page_size
        self._timeout = timeout
        if (access_key_id is None) != (secret_access_key is None):
            raise ValueError("Pass both access_key_id and secret_access_key, or neither "
                             "(then AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are used).")
        if access_key_id is None:
            access_key_id = os.environ.get("AWS_ACCESS_KEY_ID")
            secret_access_key = os.environ.get("AWS_SECRET_ACCESS_KEY")
            session_token = session_token or os.environ.get("AWS_SESSION_TOKEN")
        if not access_key_id or not secret_access_key:
            raise ValueError(
                "No S3 credentials: pass access_key_id and secret_access_key, or set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
        self._credentials = Credentials(access_key_id, secret_access_key, session_token)
        self._limiters = RunLimiters(4)

    def __repr__(self) -> str:
        return (f"S3ArtifactService({self.bucket!r}, endpoint_url={self.endpoint_url!r}, "
                f"region={self.region!r}, prefix={self.prefix!r})")

    # ----------------------------------------------------------------- keys

    def _file_prefix(self, app_name: str, user_id: str, session_id: str,
                     filename: str) -> str:
        """The key prefix of a file's versions (ends with '/')."""
        scope = self._scope_prefix(app_name, user_id, session_id)
        user_scoped, _segments = split_filename(filename)
        if user_scoped:
            return f"{self.prefix}{app_name}/{user_id}/user/{filename}/"
        return f"{scope}{filename}/"

    def _scope_prefix(self, app_name: str, user_id: str, session_id: str) -> str:
        check_segment(app_name, "app_name")
        check_segment(user_id, "user_id")
        check_segment(session_id, "session_id")
        if session_id == "user":
            raise ValueError("session_id 'user' is reserved by the S3 key layout for the "
                             "user's 'user:' files; use another session id.")
        return f"{self.prefix}{app_name}/{user_id}/{session_id}/"

    # ----------------------------------------------------------------- HTTP

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        try:
            yield client
        finally:
            with trio.CancelScope(shield=True,
                                  deadline=trio.current_time() + _CLOSE_TIMEOUT):
                await client.aclose()

    async def _request(self, client: httpx.AsyncClient, method: str, key: str | None,
                       *, query: Mapping[str, str] | None = None, body: bytes = b"",
                       headers: Mapping[str, str] | None = None,
                       ok: tuple[int, ...] = (200,)) -> httpx.Response:
        query = dict(query or {})
        path = self._bucket_path + ("/" + uri_encode(key, keep_slash=True) if key else "/")
        if len(body) > _HASH_IN_THREAD:
            digest = await trio.to_thread.run_sync(
                lambda: hashlib.sha256(body).hexdigest(), limiter=self._limiters.current())
        else:
            digest = hashlib.sha256(body).hexdigest()
        url = httpx.URL(self._base + path)
        signed_path = url.raw_path.decode("ascii")
        if query:
            url = httpx.URL(f"{self._base}{path}?{canonical_query(query)}")
        all_headers = {"host": url.netloc.decode("ascii"), "x-amz-content-sha256": digest,
                       **(headers or {})}
        all_headers.update(sign(method=method, path=signed_path,
                                query=query, headers=all_headers, payload_sha256=digest,
                                credentials=self._credentials, region=self.region,
                                service="s3", now=datetime.now(UTC)))
        target = f"s3://{self.bucket}/{key or ''}"
        try:
            response = await client.request(method, url, content=body,
                                            headers=all_headers)
        except httpx.HTTPError as exc:
            raise StorageError(f"S3 {method} {target} at {self._base} failed: "
                               f"{type(exc).__name__}: {exc}.") from None
        logger.debug("S3 %s %s -> %s", method, target, response.status_code)
        if response.status_code not in ok:
            code, message = _error_of(response.content)
            raise StorageError(f"S3 {method} {target} failed: HTTP {response.status_code}"
                               f" {code}: {message}")
        return response

    async def _keys(self, client: httpx.AsyncClient, prefix: str) -> list[str]:
        """Every key under ``prefix`` (following continuation tokens)."""
        keys: list[str] = []
        token: str | None = None
        while True:
            query = {"list-type": "2", "prefix": prefix, "max-keys": str(self._page_size)}
            if token:
                query["continuation-token"] = token
            response = await self._request(client, "GET", None, query=query)
            try:
                root = ET.fromstring(response.content)
            except ET.ParseError as exc:
                raise StorageError(f"S3 listing of s3://{self.bucket}/{prefix} returned "
                                   f"malformed XML ({exc}).") from None
            keys.extend(el.text or "" for el in root.iter() if _tag(el) == "Key")
            truncated = next((el.text for el in root if _tag(el) == "IsTruncated"), "false")
            token = next((el.text for el in root if _tag(el) == "NextContinuationToken"),
                         None)
            if truncated != "true" or not token:
                return keys

    async def _versions(self, client: httpx.AsyncClient, file_prefix: str) -> list[int]:
        found = []
        for key in await self._keys(client, file_prefix):
            rest = key[len(file_prefix):]
            if rest.isascii() and rest.isdigit():  # "a/b/3" belongs to file "a/b"
                found.append(int(rest))
        return sorted(found)

    # ----------------------------------------------------------------- the API

    async def create_bucket(self) -> None:
        """Create the bucket (for local S3 servers and tests); one you own already is
        fine.  Cancellation: stops the request."""
        async with self._client() as client:
            await self._request(client, "PUT", None, ok=(200, 409))

    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        artifact: types.Part,
        custom_metadata: dict[str, Any] | None = None,
    ) -> int:
        """Store ``artifact`` as the next version of ``filename``; return the version.

        Bad names, parts or too much metadata raise ``ValueError`` before any request.
        """
        file_prefix = self._file_prefix(app_name, user_id, session_id, filename)
        payload, mime_type, display_name = part_payload(artifact, filename)
        headers = {"content-type": mime_type or "text/plain"}
        if mime_type is None:
            headers[_IS_TEXT] = "true"
        if display_name:
            headers[_DISPLAY_NAME] = quote(display_name, safe="")
        if custom_metadata:
            headers[_CUSTOM] = quote(json.dumps(custom_metadata, allow_nan=False,
                                                separators=(",", ":")), safe="")
        size = sum(len(k) - len("x-amz-meta-") + len(v) for k, v in headers.items()
                   if k.startswith("x-amz-meta-"))
        if size > _MAX_USER_METADATA:
            raise ValueError(
                f"Artifact {filename!r}: custom_metadata and display_name take {size} bytes "
                f"as S3 object metadata, more than the {_MAX_USER_METADATA} S3 allows; "
                "store large metadata as an artifact of its own.")
        headers["if-none-match"] = "*"
        async with self._client() as client:
            versions = await self._versions(client, file_prefix)
            version = versions[-1] + 1 if versions else 0
            for _attempt in range(_SAVE_ATTEMPTS):
                response = await self._request(client, "PUT", f"{file_prefix}{version}",
                                               body=payload, headers=headers,
                                               ok=(200, 412))
                if response.status_code == 200:
                    return version
                version += 1  # another writer took this number
        raise StorageError(f"S3 save of {filename!r} lost the race for a version number "
                           f"{_SAVE_ATTEMPTS} times; retry later.")

    async def load_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        version: int | None = None,
    ) -> types.Part | None:
        """Return a version of ``filename`` (latest when None, negative counts from the
        latest), or None when there is none (or it is ADK's rewind marker)."""
        file_prefix = self._file_prefix(app_name, user_id, session_id, filename)
        async with self._client() as client:
            chosen = await self._choose(client, file_prefix, version)
            if chosen is None:
                return None
            response = await self._request(client, "GET", f"{file_prefix}{chosen}",
                                           ok=(200, 404))
        if response.status_code == 404:
            return None  # deleted meanwhile
        data = response.content
        if response.headers.get(_IS_TEXT) == "true":
            try:
                return types.Part(text=data.decode("utf-8"))
            except UnicodeDecodeError:
                raise StorageError(f"Text artifact s3://{self.bucket}/{file_prefix}"
                                   f"{chosen} is not UTF-8; the object is damaged.") from None
        mime_type = response.headers.get("content-type") or "application/octet-stream"
        display = response.headers.get(_DISPLAY_NAME)
        display_name = unquote(display) if display else None
        if is_rewind_marker(mime_type, data, display_name):
            return None
        return types.Part(inline_data=types.Blob(data=data, mime_type=mime_type,
                                                 display_name=display_name))

    async def _choose(self, client: httpx.AsyncClient, file_prefix: str,
                      version: int | None) -> int | None:
        if version is not None and version >= 0:
            return version
        versions = await self._versions(client, file_prefix)
        index = -1 if version is None else version
        return versions[index] if -len(versions) <= index < 0 else None

    async def list_artifact_keys(
        self, *, app_name: str, user_id: str, session_id: str
    ) -> list[str]:
        """Return the sorted filenames of the session plus the user's ``user:`` files."""
        scope = self._scope_prefix(app_name, user_id, session_id)
        user_scope = f"{self.prefix}{app_name}/{user_id}/user/"
        names: set[str] = set()
        async with self._client() as client:
            for prefix in (scope, user_scope):
                for key in await self._keys(client, prefix):
                    name, _, number = key[len(prefix):].rpartition("/")
                    if name and number.isascii() and number.isdigit():
                        names.add(name)
        return sorted(names)

    async def delete_artifact(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> None:
        """Delete every version of ``filename``; an unknown filename is ignored."""
        file_prefix = self._file_prefix(app_name, user_id, session_id, filename)
        async with self._client() as client:
            for version in await self._versions(client, file_prefix):
                await self._request(client, "DELETE", f"{file_prefix}{version}",
                                    ok=(200, 204, 404))

    async def list_versions(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> list[int]:
        """Return the versions of ``filename`` in ascending order (empty if none)."""
        file_prefix = self._file_prefix(app_name, user_id, session_id, filename)
        async with self._client() as client:
            return await self._versions(client, file_prefix)

    async def list_artifact_versions(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> list[ArtifactVersion]:
        """Return the metadata of every version (one HEAD request each), oldest first."""
        file_prefix = self._file_prefix(app_name, user_id, session_id, filename)
        async with self._client() as client:
            infos = [await self._info(client, file_prefix, v)
                     for v in await self._versions(client, file_prefix)]
        return [info for info in infos if info is not None]

    async def get_artifact_version(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        version: int | None = None,
    ) -> ArtifactVersion | None:
        """Return the metadata of one version (latest when None), or None."""
        file_prefix = self._file_prefix(app_name, user_id, session_id, filename)
        async with self._client() as client:
            chosen = await self._choose(client, file_prefix, version)
            return None if chosen is None else await self._info(client, file_prefix, chosen)

    async def _info(self, client: httpx.AsyncClient, file_prefix: str,
                    version: int) -> ArtifactVersion | None:
        key = f"{file_prefix}{version}"
        response = await self._request(client, "HEAD", key, ok=(200, 404))
        if response.status_code == 404:
            return None
        headers = response.headers
        custom: Any = {}
        if _CUSTOM in headers:
            try:
                custom = json.loads(unquote(headers[_CUSTOM]))
            except ValueError:
                custom = {}
        try:
            created = parsedate_to_datetime(headers["last-modified"]).timestamp()
        except (KeyError, TypeError, ValueError):
            created = datetime.now(UTC).timestamp()
        return ArtifactVersion(
            version=version,
            canonical_uri=f"s3://{self.bucket}/{key}",
            custom_metadata=custom if isinstance(custom, dict) else {},
            create_time=created,
            mime_type=None if headers.get(_IS_TEXT) == "true" else headers.get("content-type"),
        )


def _tag(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _error_of(body: bytes) -> tuple[str, str]:
    """(Code, Message) of an S3 error document, or placeholders."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return "UnknownError", "the server gave no S3 error document"
    code = next((el.text for el in root if _tag(el) == "Code"), None) or "UnknownError"
    message = next((el.text for el in root if _tag(el) == "Message"), None) or ""
    return code, message

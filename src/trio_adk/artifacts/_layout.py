"""Where persistent artifact stores put things: the path rules shared by the file and
S3 stores, and a per-run thread limiter.

Names become directories (files) or key segments (S3), so they are checked before any
I/O.  The rules are ADK's where ADK is safe and stricter where ADK lets two names share
one place or a name leave its scope:

* app names, user ids and session ids are single path segments: no ``/`` or ``\\``,
  not ``.`` or ``..``;
* a filename, after an optional ``user:`` prefix, is a relative POSIX path whose
  segments are non-empty, are not ``.`` or ``..``, have no leading or trailing
  whitespace and are at most 255 UTF-8 bytes; it contains no backslash, does not start
  with ``/`` or a drive letter (``C:``), and its parts are not the layout's own names
  (``versions`` anywhere, ``metadata.json`` last, in any case and ignoring trailing
  dots and spaces, as ADK rejects them on save).

ADK strips whitespace and accepts ``a//b``, ``./c``, ``x/`` and an empty name, so
several names can land in one directory; those raise ``ValueError`` here instead.
"""

from __future__ import annotations

import re
import threading
import weakref

import trio

USER_PREFIX = "user:"

_DRIVE = re.compile(r"[A-Za-z]:")
_MAX_SEGMENT_BYTES = 255


def check_segment(value: str, what: str) -> str:
    """An id used as one directory name or key segment (already checked by
    ``check_id``)."""
    if "/" in value or "\\" in value:
        raise ValueError(
            f"{what} {value!r} contains a path separator ('/' or '\\'); artifact stores "
            f"use it as one directory name, so pass an id without separators.")
    if value in (".", ".."):
        raise ValueError(f"{what} {value!r} names a directory of its own; pass a real id.")
    if len(value.encode()) > _MAX_SEGMENT_BYTES:
        raise ValueError(f"{what} is longer than {_MAX_SEGMENT_BYTES} UTF-8 bytes.")
    return value


def split_filename(filename: str) -> tuple[bool, tuple[str, ...]]:
    """``(user_scoped, segments)`` of an artifact filename (see the module's rules).

    Raises ``ValueError`` naming the filename and the rule it breaks.
    """
    user_scoped = filename.startswith(USER_PREFIX)
    path = filename[len(USER_PREFIX):] if user_scoped else filename

    def bad(why: str) -> ValueError:
        return ValueError(f"Artifact filename {filename!r} {why}.")

    if not path:
        raise bad("names no file after 'user:'; pass e.g. 'user:notes.txt'")
    if "\\" in path:
        raise bad("contains a backslash; separate directories with '/'")
    if path.startswith("/"):
        raise bad("is an absolute path; pass a path relative to the session or user, "
                  "e.g. 'reports/summary.txt'")
    if _DRIVE.match(path):
        raise bad("starts with a drive letter; pass a relative path")
    segments = tuple(path.split("/"))
    for segment in segments:
        if not segment:
            raise bad("has an empty path segment ('//' or a leading or trailing '/'); "
                      "remove it")
        if segment in (".", ".."):
            raise bad(f"contains the segment {segment!r}; artifact filenames may not "
                      "refer to a directory relative to another")
        if segment != segment.strip():
            raise bad(f"has a segment with leading or trailing whitespace ({segment!r})")
        if len(segment.encode()) > _MAX_SEGMENT_BYTES:
            raise bad(f"has a segment longer than {_MAX_SEGMENT_BYTES} UTF-8 bytes")
        if segment.rstrip(" .").casefold() == "versions":
            raise bad("contains a 'versions' segment, which the store's layout uses for "
                      "the versions of each file; rename that directory")
    if segments[-1].rstrip(" .").casefold() == "metadata.json":
        raise bad("ends in 'metadata.json', the name of the store's own metadata file; "
                  "rename the file")
    return user_scoped, segments


# Each trio run gets its own CapacityLimiter (a limiter belongs to one run), per store.
class RunLimiters:
    """One ``trio.CapacityLimiter`` of ``total`` tokens per trio run.

    May be used from any thread and any number of trio runs at once; entries go when
    their run's token is garbage collected.
    """

    def __init__(self, total: int) -> None:
        self._total = total
        self._lock = threading.Lock()
        self._limiters: weakref.WeakKeyDictionary[trio.lowlevel.TrioToken,
                                                  trio.CapacityLimiter]
        self._limiters = weakref.WeakKeyDictionary()

    def current(self) -> trio.CapacityLimiter:
        """The limiter of the calling trio run (call from a trio task)."""
        token = trio.lowlevel.current_trio_token()
        with self._lock:
            limiter = self._limiters.get(token)
            if limiter is None:
                limiter = self._limiters[token] = trio.CapacityLimiter(self._total)
            return limiter


_OCTET_STREAM = "application/octet-stream"


def part_payload(artifact: object, filename: str) -> tuple[bytes, str | None, str | None]:
    """``(payload, mime_type, display_name)`` to store for a part; ``mime_type`` is None
    for text (stored as UTF-8).  Raises ``ValueError`` for parts without content."""
    from google.genai import types

    assert isinstance(artifact, types.Part)
    blob = artifact.inline_data
    if blob is not None:
        if blob.data is None:
            raise ValueError(
                f"Artifact {filename!r} has inline_data without data; pass "
                "types.Blob(data=..., mime_type=...).")
        return blob.data, blob.mime_type or _OCTET_STREAM, blob.display_name
    if artifact.text is not None:
        try:
            return artifact.text.encode("utf-8"), None, None
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"Artifact {filename!r} has text that is not valid Unicode ({exc.reason} "
                f"at {exc.start}); stored text must encode as UTF-8.") from None
    raise ValueError(
        f"Artifact {filename!r} has neither inline_data nor text; this store keeps "
        "content, so pass types.Part(text=...) or "
        "types.Part(inline_data=types.Blob(data=..., mime_type=...)).")


def is_rewind_marker(mime_type: str | None, data: bytes, display_name: str | None) -> bool:
    """ADK saves an empty ``application/octet-stream`` version to hide an artifact when
    a session is rewound; every store loads such a version as absent."""
    return mime_type == _OCTET_STREAM and not data and not display_name

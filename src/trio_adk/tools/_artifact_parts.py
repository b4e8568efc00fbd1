"""Turning a stored artifact into a part a model accepts (``as_safe_part_for_llm``)."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import struct
import zipfile

from google.genai import types

_log = logging.getLogger("trio_adk")

# Inline data Gemini accepts: media by prefix plus PDF, minus the XML-based images.
_INLINE_PREFIXES = ("image/", "audio/", "video/")
_INLINE_EXTRA = frozenset({"application/pdf"})
_NOT_INLINE = frozenset({"image/svg", "image/svg+xml", "image/xml"})
# Sent as text (the XML-based images included, since Gemini refuses them inline).
_TEXT_TYPES = frozenset({
    "application/csv", "application/json", "application/svg+xml", "application/xml",
    "image/svg", "image/svg+xml", "image/xml",
})
_TEXT_SUFFIXES = (".csv", ".txt", ".json", ".xml")
_DOCX_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/octet-stream",
})
_SHEET_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
})
_WORD_NAMESPACE = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_DOCX_READ_LIMIT = 10 * 1024 * 1024  # bytes of document.xml read at most (zip bombs)
_SHEET_ROW_LIMIT = 100


def _base_type(mime_type: str | None) -> str | None:
    """``mime_type`` lower-cased without parameters (``; charset=...``), or None."""
    if not mime_type:
        return None
    return mime_type.split(";", 1)[0].strip().lower()


def _inline_ok(base: str | None) -> bool:
    if not base or base in _NOT_INLINE:
        return False
    return base.startswith(_INLINE_PREFIXES) or base in _INLINE_EXTRA


def _decode_base64(data: str) -> bytes | None:
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(data, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None


def _docx_text(data: bytes) -> str | None:
    """The paragraphs of a DOCX file, one per line; None if ``data`` is not one.

    Regular expressions rather than an XML parser (no entity expansion), and at most
    10 MB of the document read (no zip bombs).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/document.xml" not in archive.namelist():
                return None
            with archive.open("word/document.xml") as member:
                xml = member.read(_DOCX_READ_LIMIT).decode("utf-8", errors="ignore")
    except (zipfile.BadZipFile, KeyError, struct.error, OSError) as exc:
        _log.debug("Not a readable DOCX file: %s", exc)
        return None
    found = re.search(r'xmlns:(\w+)="' + re.escape(_WORD_NAMESPACE) + '"', xml)
    ns = found.group(1) if found else "w"
    paragraphs: list[str] = []
    for chunk in re.split(rf"<{ns}:p(?:[^>]*)>", xml):
        pieces = re.findall(rf"<{ns}:t(?:[^>]*)>([^<]*)</{ns}:t>", chunk)
        if pieces:
            paragraphs.append("".join(pieces))
    return "\n".join(paragraphs)


def _sheet_markdown(data: bytes) -> str:
    """Every non-empty sheet as a markdown table (first 100 rows), or a bracketed note.

    Needs pandas (with openpyxl/xlrd and tabulate); without them the note says what to
    install.
    """
    try:
        import pandas as pd  # type: ignore[import-untyped]

        sections: list[str] = []
        with pd.ExcelFile(io.BytesIO(data)) as workbook:
            for sheet in workbook.sheet_names:
                frame = workbook.parse(sheet)
                if frame.empty:
                    continue
                rows = len(frame)
                table = frame.head(_SHEET_ROW_LIMIT).to_markdown(
                    index=False, numalign="left", stralign="left")
                if table and rows > _SHEET_ROW_LIMIT:
                    table += (f"\n\n[Output is limited to the first {_SHEET_ROW_LIMIT} rows. "
                              f"Total rows: {rows}]")
                sections.append(f"### Sheet: {sheet}\n\n{table}")
        return "\n\n".join(sections) if sections else "[Empty Spreadsheet]"
    except ImportError as exc:
        _log.warning("Spreadsheet parsing needs pandas: %r", exc)
        return (f"[Missing dependency: {exc!r}. Pandas and its support libraries are "
                "required to parse spreadsheets. Please install them using `pip install "
                "pandas openpyxl tabulate xlrd`.]")
    except ValueError as exc:
        _log.warning("Invalid spreadsheet: %r", exc)
        return f"[Invalid spreadsheet format: {exc!r}]"
    except Exception as exc:
        _log.warning("Could not parse spreadsheet: %r", exc)
        return f"[Error parsing spreadsheet: {exc!r}]"


def as_safe_part_for_llm(
    artifact: types.Part, artifact_name: str, enable_spreadsheet_parsing: bool = False
) -> types.Part:
    """``artifact`` in a form the model accepts, named ``artifact_name`` in notes.

    A part without inline data is returned as is, and so is inline media the model
    takes (images, audio, video except SVG/XML, and PDF; its MIME type lower-cased).
    Other inline data becomes a text part: the text of a DOCX document, the decoded
    text of text-like data (``text/*``, JSON, CSV, XML, or a ``.txt/.csv/.json/.xml``
    name), a spreadsheet as markdown tables when ``enable_spreadsheet_parsing``, and
    otherwise a bracketed note with the name, type and size.  Pure; any thread.
    """
    inline = artifact.inline_data
    if inline is None:
        return artifact
    base = _base_type(inline.mime_type)
    if inline.mime_type and _inline_ok(base):
        head, sep, params = inline.mime_type.partition(";")
        canonical = f"{head.strip().lower()}{sep}{params}"
        if canonical == inline.mime_type:
            return artifact
        return artifact.model_copy(
            update={"inline_data": inline.model_copy(update={"mime_type": canonical})})
    base = base or "application/octet-stream"
    data: bytes | str | None = inline.data
    if data is None:
        return types.Part(text=f"[Artifact: {artifact_name}, type: {base}. "
                               "No inline data was provided.]")
    if isinstance(data, str):
        decoded = _decode_base64(data)
        if decoded is None:
            return types.Part(text=data)
        data = decoded
    name = artifact_name.lower()
    if base in _DOCX_TYPES or name.endswith(".docx"):
        document = _docx_text(data)
        if document is not None:
            return types.Part(text=document)
    if base.startswith("text/") or base in _TEXT_TYPES or name.endswith(_TEXT_SUFFIXES):
        return types.Part(text=data.decode("utf-8", errors="replace"))
    if enable_spreadsheet_parsing and (base in _SHEET_TYPES or name.endswith((".xlsx", ".xls"))):
        return types.Part(text=_sheet_markdown(data))
    return types.Part(text=f"[Binary artifact: {artifact_name}, type: {base}, "
                           f"size: {len(data) / 1024:.1f} KB. "
                           "Content cannot be displayed inline.]")

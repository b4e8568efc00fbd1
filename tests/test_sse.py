"""The server-sent events parser (``trio_adk.models._sse``), WHATWG event-stream rules."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterable

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_adk.models._sse import SSEDecoder, SSEEvent, SSETruncatedError, aiter_sse


def decode(*chunks: bytes | str) -> tuple[list[SSEEvent], bool]:
    """Events of a whole stream fed as ``chunks``, and whether it was truncated."""
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events, decoder.close()


def datas(events: Iterable[SSEEvent]) -> list[str]:
    return [e.data for e in events]


def test_gemini_framing() -> None:
    """What the Gemini API sends: ``data: <json>`` + CRLF CRLF per chunk."""
    events, truncated = decode(b'data: {"a": 1}\r\n\r\ndata: {"b": 2}\r\n\r\n')
    assert [SSEEvent(data='{"a": 1}'), SSEEvent(data='{"b": 2}')] == events
    assert not truncated


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"])
def test_line_endings(eol: str) -> None:
    stream = f"data: one{eol}{eol}data: two{eol}data: more{eol}{eol}"
    events, truncated = decode(stream.encode())
    assert ["one", "two\nmore"] == datas(events)
    assert not truncated


def test_mixed_line_endings() -> None:
    events, _ = decode(b"data: a\rdata: b\ndata: c\r\n\r\ndata: d\n\r")
    assert ["a\nb\nc", "d"] == datas(events)


def test_optional_single_space_after_colon() -> None:
    events, _ = decode(b"data:x\n\ndata: x\n\ndata:  x\n\ndata:\n\n")
    assert ["x", "x", " x", ""] == datas(events)


def test_comments_are_ignored() -> None:
    events, truncated = decode(b": keepalive\n\n:another\ndata: a\n: in the middle\ndata: b\n\n")
    assert ["a\nb"] == datas(events)
    assert not truncated


def test_blocks_without_data_are_not_dispatched() -> None:
    events, _ = decode(b"\n\n\nevent: ping\n\nid: 7\n\nretry: 10\n\ndata: real\n\n")
    assert [SSEEvent(data="real", id="7")] == events


def test_event_id_and_retry_fields() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(
        b"event: update\nid: 1\nretry: 1500\ndata: a\n\n"
        b"data: b\n\n"
        b"id\ndata: c\n\n"
        b"id: bad\x00id\nretry: 12x\nevent\ndata: d\n\n"
    )
    assert [
        SSEEvent(event="update", data="a", id="1", retry=1500),
        SSEEvent(data="b", id="1"),  # the last event id persists
        SSEEvent(data="c", id=""),  # "id" without colon resets it
        SSEEvent(data="d", id=""),  # NUL id and non-digit retry are ignored
    ] == events
    assert (1500, "") == (decoder.retry, decoder.last_event_id)
    assert not decoder.close()


def test_field_without_colon_has_empty_value() -> None:
    events, _ = decode(b"data\ndata\n\n")
    assert ["\n"] == datas(events)


def test_unknown_fields_are_ignored() -> None:
    events, _ = decode(b"foo: bar\ndata: x\nDATA: y\n\n")
    assert ["x"] == datas(events)


def test_bom_at_start_is_skipped_once() -> None:
    events, _ = decode(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n")
    # The second BOM is not at the start of the stream: it is part of a field name.
    assert ["a"] == datas(events)


def test_bom_split_across_chunks() -> None:
    events, _ = decode(b"\xef", b"\xbb", b"\xbfdata: a\n\n")
    assert ["a"] == datas(events)


def test_multibyte_characters_split_across_chunks() -> None:
    payload = "data: héllo wörld — ✓ 𝄞\n\n".encode()
    events, truncated = decode(*(payload[i : i + 1] for i in range(len(payload))))
    assert ["héllo wörld — ✓ 𝄞"] == datas(events)
    assert not truncated


def test_invalid_utf8_is_replaced() -> None:
    events, _ = decode(b"data: a\xffb\n\n")
    assert ["a\ufffdb"] == datas(events)


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    events, truncated = decode(b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r\n")
    assert ["a", "b"] == datas(events)
    assert not truncated


def test_event_dispatched_as_soon_as_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert [] == decoder.feed(b"data: a\r\n")
    assert ["a"] == datas(decoder.feed(b"\r"))  # CR alone already ends the line
    assert [] == decoder.feed(b"\n")  # ... and its LF is not another blank line
    assert not decoder.close()


def test_str_chunks() -> None:
    events, _ = decode("data: a\n", "\n")
    assert ["a"] == datas(events)


@pytest.mark.parametrize(
    "stream",
    [
        b"data: {\"partial\": tr",  # cut inside a line
        b"data: a\n\ndata: b\n",  # cut after a data line, before the blank line
        b"data: a\n\ndata: b\r\n",
        b"data: a\n\ndata: \xe2\x9c",  # cut inside a UTF-8 character
        b"data: a\n\nevent: x",  # cut inside a line without data
    ],
)
def test_truncation_is_detected_and_partial_event_discarded(stream: bytes) -> None:
    events, truncated = decode(stream)
    assert truncated
    assert [] == [e for e in events if e.data not in ("a",)]


@pytest.mark.parametrize(
    "stream",
    [b"", b"data: a\n\n", b"data: a\r\n\r\n", b"data: a\r\r", b"data: a\n\nevent: x\n", b": c\n"],
)
def test_clean_end_is_not_truncation(stream: bytes) -> None:
    _, truncated = decode(stream)
    assert not truncated


def test_close_is_idempotent_and_feed_after_close_fails() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: x")
    assert decoder.pending
    assert decoder.close()
    assert decoder.close()
    with pytest.raises(RuntimeError):
        decoder.feed(b"\n\n")


# ------------------------------------------------------------ chunk boundaries


STREAM = (
    "\ufeff: comment\r\n"
    "event: a\r\nid: 1\r\ndata: first line\r\ndata:second ✓\r\n\r\n"
    "data: 𝄞 only\n\n"
    "retry: 300\rdata: cr\r\r"
    "data\n\n"
    ": tail comment\r\n"
    'data: {"candidates": [{"content": {"parts": [{"text": "é"}]}}]}\r\n\r\n'
).encode()

EXPECTED = [
    SSEEvent(event="a", data="first line\nsecond ✓", id="1"),
    SSEEvent(data="𝄞 only", id="1"),
    SSEEvent(data="cr", id="1", retry=300),
    SSEEvent(data="", id="1"),
    SSEEvent(data='{"candidates": [{"content": {"parts": [{"text": "é"}]}}]}', id="1"),
]


def test_reference_stream_whole() -> None:
    assert (EXPECTED, False) == decode(STREAM)


def test_reference_stream_byte_by_byte() -> None:
    assert (EXPECTED, False) == decode(*(STREAM[i : i + 1] for i in range(len(STREAM))))


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
@settings(max_examples=300, deadline=None)
def test_reference_stream_random_splits(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    chunks = [STREAM[a:b] for a, b in itertools.pairwise(bounds)]
    assert (EXPECTED, False) == decode(*chunks)


@given(
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=8), max_size=6
    ),
    st.sampled_from(["\n", "\r", "\r\n"]),
    st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
@settings(max_examples=300, deadline=None)
def test_random_payloads_survive_any_split(lines: list[str], eol: str, cuts: list[int]) -> None:
    """Each payload line comes back exactly, whatever the line ending and the chunking."""
    stream = "".join(f"data: {line}{eol}{eol}" for line in lines).encode()
    bounds = [0, *sorted(c for c in cuts if c <= len(stream)), len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    events, truncated = decode(*chunks)
    assert lines == datas(events)
    assert not truncated


def reference_truncated(prefix: bytes) -> bool:
    """An independent statement of "ended mid-event" for a prefix of a stream."""
    try:
        text = prefix.decode()
    except UnicodeDecodeError:
        return True  # ends inside a UTF-8 character
    *lines, rest = re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))
    if rest:
        return True  # ends inside a line
    data_pending = False
    for line in lines:
        if not line:
            data_pending = False
        elif line.partition(":")[0] == "data":
            data_pending = True
    return data_pending


@given(st.integers(min_value=0, max_value=len(STREAM)))
@settings(max_examples=300, deadline=None)
def test_any_cut_short_of_an_event_end_is_truncation(cut: int) -> None:
    """A stream cut anywhere but between events is reported; complete events survive."""
    events, truncated = decode(STREAM[:cut])
    assert reference_truncated(STREAM[:cut]) == truncated
    assert EXPECTED[: len(events)] == events


# ------------------------------------------------------------------ aiter_sse


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await trio.lowlevel.checkpoint()
        yield part


async def test_aiter_sse_yields_events() -> None:
    stream = aiter_sse(_chunks(b"data: a\r\n", b"\r\ndata: b\r\n\r", b"\n"))
    assert ["a", "b"] == [event.data async for event in stream]


async def test_aiter_sse_raises_on_truncation_after_delivering_complete_events() -> None:
    stream = aiter_sse(_chunks(b"data: a\n\n", b'data: {"cut'))
    assert "a" == (await stream.__anext__()).data
    with pytest.raises(SSETruncatedError):
        await stream.__anext__()
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_aiter_sse_aclose_closes_the_source() -> None:
    closed = False

    async def source() -> AsyncIterator[bytes]:
        nonlocal closed
        try:
            yield b"data: a\n\n"
            yield b"data: b\n\n"
        finally:
            closed = True

    stream = aiter_sse(source())
    assert "a" == (await stream.__anext__()).data
    await stream.aclose()
    assert closed
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()

"""Streamed chunks -> partial LlmResponses + one aggregated reply (``StreamAggregator``)."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from trio_adk.models._llm_response import LlmResponse
from trio_adk.models._stream_aggregator import StreamAggregator
from trio_adk.models._wire import parse_response

SIG_A = b"sig-a"
SIG_B = b"sig-b"


def chunk(
    *parts: dict[str, Any],
    finish: str | None = None,
    usage: int | None = None,
    index: int | None = None,
    **extra: Any,
) -> types.GenerateContentResponse:
    """A streamed chunk as the Gemini API sends it (wire JSON, parsed)."""
    candidate: dict[str, Any] = {}
    if parts:
        candidate["content"] = {"role": "model", "parts": list(parts)}
    if finish:
        candidate["finishReason"] = finish
    if index is not None:
        candidate["index"] = index
    candidate.update(extra.pop("candidate", {}))
    data: dict[str, Any] = {"modelVersion": "gemini-2.5-flash", **extra}
    if candidate:
        data["candidates"] = [candidate]
    if usage is not None:
        data["usageMetadata"] = {"promptTokenCount": 5, "candidatesTokenCount": usage,
                                 "totalTokenCount": 5 + usage}
    return parse_response(data)


def parts(response: LlmResponse) -> list[types.Part]:
    assert response.content is not None
    assert response.content.parts is not None
    return response.content.parts


def calls(response: LlmResponse) -> list[types.FunctionCall]:
    found = [p.function_call for p in parts(response)]
    return [c for c in found if c is not None]


def usage(response: LlmResponse) -> types.GenerateContentResponseUsageMetadata:
    assert response.usage_metadata is not None
    return response.usage_metadata


def run(*chunks: types.GenerateContentResponse) -> tuple[list[LlmResponse], LlmResponse]:
    aggregator = StreamAggregator()
    partials = [p for c in chunks for p in aggregator.add(c)]
    return partials, aggregator.finish()


def test_text_chunks_give_partials_and_one_merged_reply() -> None:
    partials, final = run(
        chunk({"text": "Hel"}, usage=1),
        chunk({"text": "lo, "}, usage=2),
        chunk({"text": "world."}, finish="STOP", usage=3),
    )
    assert [True, True, True] == [p.partial for p in partials]
    assert ["Hel", "lo, ", "world."] == [parts(p)[0].text for p in partials]
    assert False is final.partial
    assert types.Content(role="model", parts=[types.Part(text="Hello, world.")]) == final.content
    assert types.FinishReason.STOP == final.finish_reason
    assert (None, None) == (final.error_code, final.error_message)
    assert 3 == usage(final).candidates_token_count
    assert "gemini-2.5-flash" == final.model_version


def test_partial_is_the_chunk_as_llm_response_create_sees_it() -> None:
    piece = chunk({"text": "x"}, usage=1)
    expected = LlmResponse.create(piece)
    expected.partial = True
    assert [expected] == run(piece)[0]


def test_thought_and_answer_text_are_kept_apart() -> None:
    partials, final = run(
        chunk({"text": "Let me ", "thought": True}),
        chunk({"text": "think.", "thought": True, "thoughtSignature": "c2lnLWE="}),
        chunk({"text": "More", "thought": True, "thoughtSignature": "c2lnLWI="}),
        chunk({"text": "The answer"}, {"text": " is 42."}),
        chunk({"text": "", "thoughtSignature": "c2lnLWI="}, finish="STOP"),
    )
    assert 5 == len(partials)
    assert [
        types.Part(text="Let me think.More", thought=True, thought_signature=SIG_A),
        types.Part(text="The answer is 42."),
        types.Part(text="", thought_signature=SIG_B),  # signature-only part is kept
    ] == parts(final)


def test_alternating_kinds_make_separate_parts() -> None:
    _, final = run(
        chunk({"text": "a", "thought": True}, {"text": "b"}),
        chunk({"text": "c", "thought": True}, {"text": "d"}, {"text": "e"}),
    )
    assert [("a", True), ("b", None), ("c", True), ("de", None)] == [
        (p.text, p.thought) for p in parts(final)
    ]


def test_function_call_chunk() -> None:
    partials, final = run(
        chunk({"text": "Checking."}),
        chunk({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
              {"functionCall": {"name": "get_time", "args": {}}}),
        chunk(finish="STOP", usage=4),
    )
    call_ids = [c.id for c in calls(partials[1])]
    assert all(i is not None and i.startswith("adk-") for i in call_ids)
    assert len(set(call_ids)) == 2
    assert "Checking." == parts(final)[0].text
    assert [("get_weather", {"city": "Paris"}), ("get_time", {})] == [
        (c.name, c.args) for c in calls(final)
    ]
    # The partial event and the final one name the same calls.
    assert call_ids == [c.id for c in calls(final)]
    assert None is final.error_code
    assert 4 == usage(final).candidates_token_count


def test_server_call_ids_are_kept_and_duplicates_dropped() -> None:
    call = {"functionCall": {"id": "srv-1", "name": "f", "args": {"a": 1}}}
    _, final = run(chunk(call), chunk(call), chunk({"functionCall": {"name": ""}}, finish="STOP"))
    assert ["srv-1"] == [c.id for c in calls(final)]


def test_other_parts_keep_their_place_and_empty_parts_are_dropped() -> None:
    _, final = run(
        chunk({"text": "Here: "}),
        chunk({"inlineData": {"mimeType": "image/png", "data": "AAEC"}}, {"text": ""}),
        chunk({"text": "done"}, {}, finish="STOP"),
    )
    assert ["Here: ", None, "done"] == [p.text for p in parts(final)]
    assert types.Blob(mime_type="image/png", data=b"\x00\x01\x02") == parts(final)[1].inline_data


def test_max_tokens_sets_error_code_and_keeps_content() -> None:
    partials, final = run(
        chunk({"text": "A long"}),
        chunk({"text": " answ"}, finish="MAX_TOKENS", candidate={"finishMessage": "limit"}),
    )
    assert "A long answ" == parts(final)[0].text
    assert ("MAX_TOKENS", "limit") == (final.error_code, final.error_message)
    assert types.FinishReason.MAX_TOKENS == final.finish_reason
    assert None is partials[-1].error_code  # the chunk had content


def test_safety_stop_without_content() -> None:
    partials, final = run(chunk({"text": "I"}), chunk(finish="SAFETY"))
    assert "SAFETY" == partials[-1].error_code
    assert "SAFETY" == final.error_code
    assert "I" == parts(final)[0].text


def test_blocked_prompt() -> None:
    blocked = chunk(promptFeedback={"blockReason": "PROHIBITED_CONTENT",
                                    "blockReasonMessage": "no"}, usage=0)
    partials, final = run(blocked)
    assert "PROHIBITED_CONTENT" == partials[0].error_code
    assert None is final.content
    assert ("PROHIBITED_CONTENT", "no") == (final.error_code, final.error_message)
    assert False is final.partial


def test_usage_is_the_last_reported_one() -> None:
    _, final = run(chunk({"text": "a"}, usage=1), chunk({"text": "b"}, usage=7),
                   chunk({"text": "c"}, finish="STOP"))
    assert 7 == usage(final).candidates_token_count
    assert 12 == usage(final).total_token_count


def test_grounding_and_citations_are_carried() -> None:
    grounding = {"webSearchQueries": ["q"]}
    citations = {"citationSources": [{"uri": "https://x.test", "startIndex": 0}]}
    _, final = run(
        chunk({"text": "a"}, candidate={"citationMetadata": citations}),
        chunk({"text": "b"}, finish="STOP", candidate={"groundingMetadata": grounding}),
    )
    assert types.GroundingMetadata(web_search_queries=["q"]) == final.grounding_metadata
    assert types.CitationMetadata(
        citations=[types.Citation(uri="https://x.test", start_index=0)]
    ) == final.citation_metadata


def test_other_candidates_are_ignored() -> None:
    aggregator = StreamAggregator()
    assert 1 == len(aggregator.add(chunk({"text": "first"}, index=0)))
    assert [] == aggregator.add(chunk({"text": "second"}, index=1))
    assert 1 == len(aggregator.add(chunk({"text": "!"}, finish="STOP")))
    assert "first!" == parts(aggregator.finish())[0].text


def test_empty_stream_is_an_error_reply() -> None:
    final = StreamAggregator().finish()
    assert ("UNKNOWN_ERROR", False, None) == (final.error_code, final.partial, final.content)
    assert final.error_message


def test_misuse_is_reported() -> None:
    aggregator = StreamAggregator()
    aggregator.add(chunk({"text": "x"}))
    aggregator.finish()
    with pytest.raises(RuntimeError):
        aggregator.finish()
    with pytest.raises(RuntimeError):
        aggregator.add(chunk({"text": "y"}))


def test_finish_reason_property_and_repr() -> None:
    aggregator = StreamAggregator()
    seen = [aggregator.finish_reason]
    aggregator.add(chunk({"text": "x"}))
    seen.append(aggregator.finish_reason)
    aggregator.add(chunk(finish="STOP"))
    seen.append(aggregator.finish_reason)
    assert [None, None, types.FinishReason.STOP] == seen
    assert "2 chunk(s)" in repr(aggregator)

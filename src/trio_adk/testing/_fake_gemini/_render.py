"""Turn a :class:`GeminiReply` into ``GenerateContentResponse`` wire JSON."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from trio_adk.testing._fake_gemini._normalize import normalize_request
from trio_adk.testing._fake_gemini._script import GeminiReply


@attrs.frozen(kw_only=True)
class RenderContext:
    """Per-call facts a reply needs: the requested model, a response id, the prompt size."""

    model_id: str
    response_id: str
    prompt_tokens: int


def count_prompt_tokens(body: Any) -> int:
    """A rough, deterministic token count of a request: words of text parts, 1 per other part."""
    if not isinstance(body, dict):
        return 0
    count = 0
    contents = list(body.get("contents") or [])
    system = body.get("systemInstruction")
    if isinstance(system, dict):
        contents.append(system)
    for content in contents:
        if not isinstance(content, dict):
            continue
        for part in content.get("parts") or []:
            text = part.get("text") if isinstance(part, dict) else None
            count += len(text.split()) if isinstance(text, str) else 1
    return count


def _part_tokens(parts: Sequence[Mapping[str, Any]]) -> int:
    total = 0
    for part in parts:
        text = part.get("text")
        total += len(text.split()) if isinstance(text, str) else 1
    return total


def _usage(prompt: int, candidates: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if not candidates:
        del usage["candidatesTokenCount"]
    return usage


def render_chunks(reply: GeminiReply, context: RenderContext) -> list[dict[str, Any]]:
    """The reply as one ``GenerateContentResponse`` dict per streamed chunk (at least one)."""
    if reply.responses is not None:
        return [normalize_request(copy.deepcopy(dict(r))) for r in reply.responses]
    chunks: list[list[dict[str, Any]]] = [[dict(p) for p in parts] for parts in reply.chunks]
    blocked = not chunks and reply.prompt_feedback is not None
    if not chunks:
        chunks = [[]]
    rendered: list[dict[str, Any]] = []
    produced = 0
    for index, parts in enumerate(chunks):
        last = index == len(chunks) - 1
        response: dict[str, Any] = {}
        if not blocked:
            content: dict[str, Any] = {"role": "model"}
            if parts:
                content["parts"] = parts
            candidate: dict[str, Any] = {"content": content}
            if last and reply.finish_reason is not None:
                candidate["finishReason"] = reply.finish_reason
            if last and reply.finish_message is not None:
                candidate["finishMessage"] = reply.finish_message
            if last and reply.grounding_metadata is not None:
                candidate["groundingMetadata"] = copy.deepcopy(dict(reply.grounding_metadata))
            candidate["index"] = 0
            response["candidates"] = [candidate]
        if index == 0 and reply.prompt_feedback is not None:
            response["promptFeedback"] = dict(reply.prompt_feedback)
        produced += _part_tokens(parts)
        if reply.usage == "auto":
            response["usageMetadata"] = _usage(context.prompt_tokens, produced)
        elif reply.usage is not None:
            response["usageMetadata"] = dict(reply.usage)
        response["modelVersion"] = reply.model_version or context.model_id
        response["responseId"] = context.response_id
        rendered.append(response)
    return rendered


def _mergeable_text(part: Mapping[str, Any]) -> bool:
    return isinstance(part.get("text"), str) and set(part) <= {"text", "thought",
                                                               "thoughtSignature"}


def _merge_parts(into: list[dict[str, Any]], parts: Sequence[Mapping[str, Any]]) -> None:
    for part in parts:
        previous = into[-1] if into else None
        if (previous is not None and _mergeable_text(previous) and _mergeable_text(part)
                and bool(previous.get("thought")) == bool(part.get("thought"))):
            previous["text"] += part["text"]
            if "thoughtSignature" not in previous and "thoughtSignature" in part:
                previous["thoughtSignature"] = part["thoughtSignature"]
        else:
            into.append(copy.deepcopy(dict(part)))


def merge_responses(chunks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The unary response equivalent to a stream: parts concatenated, adjacent texts joined,
    every other field taken from the last chunk that has it."""
    merged: dict[str, Any] = {}
    candidates: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for key, value in chunk.items():
            if key != "candidates":
                merged[key] = copy.deepcopy(value)
        for candidate in chunk.get("candidates") or []:
            index = candidate.get("index", 0)
            target = candidates.setdefault(index, {})
            for key, value in candidate.items():
                if key == "content":
                    content = target.setdefault("content", {})
                    for ckey, cvalue in value.items():
                        if ckey == "parts":
                            _merge_parts(content.setdefault("parts", []), cvalue)
                        else:
                            content[ckey] = cvalue
                else:
                    target[key] = copy.deepcopy(value)
    if candidates:
        merged["candidates"] = [candidates[i] for i in sorted(candidates)]
        # Keep the wire order of the real service: candidates first.
        merged = {"candidates": merged.pop("candidates"), **merged}
    return merged

"""Turning a stream of ``GenerateContentResponse`` chunks into ADK's events.

ADK's progressive SSE streaming: every chunk becomes a partial ``LlmResponse``
straight away (for display), while the parts are accumulated; when the stream ends one
non-partial ``LlmResponse`` carries the whole reply (it is the one that is stored in
the session and whose function calls are executed).
"""

from __future__ import annotations

from google.genai import types

from trio_adk._utils._fast_content import model_content, text_part
from trio_adk.models._llm_response import LlmResponse


def _new_call_id() -> str:
    # Imported lazily: the flows package imports the models package.
    from trio_adk.flows._functions import new_call_id

    return new_call_id()


class StreamAggregator:
    """Aggregates streamed chunks of one model reply (Gemini ``alt=sse``).

    Feed every chunk to :meth:`add` and forward the responses it returns; after the
    last chunk call :meth:`finish` once for the aggregated reply.  Only candidate 0 is followed:
    chunks whose first candidate has an index above 0 are ignored.  Error events
    (``{"error": ...}``) are not chunks: the HTTP client raises them before they get
    here.

    Aggregation rules:

    * parts keep their order; consecutive text parts of the same kind (thought or
      answer) are merged into one part, which keeps the first ``thought_signature``
      seen in the run;
    * function calls are kept whole; a call without an id gets a client id
      (``adk-<uuid>``) the moment it arrives, so the partial event and the final one
      name the same call; a repeated server id is dropped from the final reply;
      calls without a name (stream end markers) are skipped;
    * other parts (inline data, code, ...) are kept as they are, as are empty text
      parts that carry a ``thought_signature``; completely empty parts are dropped;
    * the final reply has the merged content (role ``model``, or no content if there
      were no parts), the last usage metadata, grounding and citation metadata seen,
      the finish reason and model version, and ``error_code``/``error_message`` when
      the finish reason is not ``STOP`` or the prompt was blocked.

    Not thread-safe; one aggregator per streamed reply.
    """

    def __init__(self) -> None:
        self._parts: list[types.Part] = []
        self._text: list[str] = []
        self._text_is_thought = False
        self._text_signature: bytes | None = None
        self._chunks = 0
        self._usage: types.GenerateContentResponseUsageMetadata | None = None
        self._grounding: types.GroundingMetadata | None = None
        self._citation: types.CitationMetadata | None = None
        self._model_version: str | None = None
        self._finish_reason: types.FinishReason | None = None
        self._finish_message: str | None = None
        self._block_reason: types.BlockedReason | None = None
        self._block_message: str | None = None
        self._finished = False

    def __repr__(self) -> str:
        state = "finished" if self._finished else "open"
        return f"<StreamAggregator {state}, {self._chunks} chunk(s), {len(self._parts)} part(s)>"

    @property
    def finish_reason(self) -> types.FinishReason | None:
        """The finish reason received so far (``None`` until the last chunk)."""
        return self._finish_reason

    @property
    def block_reason(self) -> types.BlockedReason | None:
        """The ``promptFeedback.blockReason`` received so far (a blocked prompt), if any."""
        return self._block_reason

    @property
    def chunk_count(self) -> int:
        """How many chunks about candidate 0 were added so far."""
        return self._chunks

    def add(self, chunk: types.GenerateContentResponse) -> list[LlmResponse]:
        """Account for ``chunk`` and return the responses to forward now.

        That is one partial response, ``LlmResponse.create(chunk)`` with
        ``partial=True`` (so a chunk without usable content carries an error code, as
        in ADK), or an empty list for a chunk about another candidate than the first.
        A list leaves room for emitting more than one response per chunk.  The chunk's
        function calls may get ids assigned in place.

        Raises:
            RuntimeError: :meth:`finish` was already called.
        """
        if self._finished:
            raise RuntimeError("add() called after finish()")
        candidates = chunk.candidates
        candidate = candidates[0] if candidates else None
        if candidate is not None and (candidate.index or 0) > 0:
            return []
        self._chunks += 1
        if chunk.usage_metadata is not None:
            self._usage = chunk.usage_metadata
        if chunk.model_version:
            self._model_version = chunk.model_version
        feedback = chunk.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            self._block_reason = feedback.block_reason
            self._block_message = feedback.block_reason_message
        if candidate is not None:
            if candidate.finish_reason is not None:
                self._finish_reason = candidate.finish_reason
                self._finish_message = candidate.finish_message
            if candidate.grounding_metadata is not None:
                self._grounding = candidate.grounding_metadata
            if candidate.citation_metadata is not None:
                self._citation = candidate.citation_metadata
            if candidate.content is not None and candidate.content.parts:
                for part in candidate.content.parts:
                    self._accumulate(part)
        partial = LlmResponse.create(chunk)
        partial.partial = True
        return [partial]

    def finish(self) -> LlmResponse:
        """The aggregated, non-partial reply; call once, after the last chunk.

        If no chunk about candidate 0 arrived at all, the reply is an error response
        (``error_code="UNKNOWN_ERROR"``) rather than nothing: an empty stream is not a
        valid answer, and an event makes the failure visible.

        Raises:
            RuntimeError: ``finish()`` was already called.
        """
        if self._finished:
            raise RuntimeError("finish() called twice")
        self._finished = True
        self._flush_text()
        if not self._chunks:
            return LlmResponse(
                error_code="UNKNOWN_ERROR",
                error_message="The model's response stream ended without any response.",
                partial=False,
            )
        error_code: str | None = None
        error_message: str | None = None
        if self._finish_reason is not None and self._finish_reason != types.FinishReason.STOP:
            error_code = str(self._finish_reason.value)
            error_message = self._finish_message
        elif self._block_reason is not None:
            error_code = str(self._block_reason.value)
            error_message = self._block_message
        parts = self._dedupe_calls(self._parts)
        return LlmResponse(
            content=model_content(parts) if parts else None,
            grounding_metadata=self._grounding,
            citation_metadata=self._citation,
            usage_metadata=self._usage,
            finish_reason=self._finish_reason,
            error_code=error_code,
            error_message=error_message,
            model_version=self._model_version,
            partial=False,
        )

    def _accumulate(self, part: types.Part) -> None:
        if part.text:
            thought = bool(part.thought)
            if self._text and thought != self._text_is_thought:
                self._flush_text()
            if not self._text:
                self._text_is_thought = thought
            self._text.append(part.text)
            if part.thought_signature and self._text_signature is None:
                self._text_signature = part.thought_signature
            return
        call = part.function_call
        if call is not None:
            if not call.name:
                return
            if not call.id:
                call.id = _new_call_id()
        elif not part.thought_signature and _is_empty(part):
            return
        self._flush_text()
        self._parts.append(part)

    def _flush_text(self) -> None:
        if not self._text:
            return
        self._parts.append(text_part("".join(self._text), thought=self._text_is_thought,
                                     signature=self._text_signature))
        self._text.clear()
        self._text_is_thought = False
        self._text_signature = None

    @staticmethod
    def _dedupe_calls(parts: list[types.Part]) -> list[types.Part]:
        seen: set[str] = set()
        kept: list[types.Part] = []
        for part in parts:
            call_id = part.function_call.id if part.function_call is not None else None
            if call_id:
                if call_id in seen:
                    continue
                seen.add(call_id)
            kept.append(part)
        return kept


def _is_empty(part: types.Part) -> bool:
    """True for a part with no data at all (an empty text, perhaps marked thought)."""
    return not part.model_dump(exclude_none=True, exclude={"text", "thought"})

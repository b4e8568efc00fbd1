"""LlmResponse: one reply (or one streamed chunk) from a model."""

from __future__ import annotations

from typing import Any

import attrs
from google.genai import types

from trio_adk._utils._model import ModelMixin


@attrs.define(kw_only=True)
class LlmResponse(ModelMixin):
    """A model reply or a streamed chunk of one.

    ``partial=True`` marks a streaming fragment; the aggregated reply that follows it is
    not partial.  ``error_code``/``error_message`` describe a model-level failure (a
    finish reason other than STOP, a blocked prompt) that is reported as an event rather
    than raised.
    """

    content: types.Content | None = None
    grounding_metadata: types.GroundingMetadata | None = None
    partial: bool | None = None
    turn_complete: bool | None = None
    finish_reason: types.FinishReason | None = None
    error_code: str | None = None
    error_message: str | None = None
    interrupted: bool | None = None
    custom_metadata: dict[str, Any] | None = None
    usage_metadata: types.GenerateContentResponseUsageMetadata | None = None
    live_session_resumption_update: types.LiveServerSessionResumptionUpdate | None = None
    input_transcription: types.Transcription | None = None
    output_transcription: types.Transcription | None = None
    citation_metadata: types.CitationMetadata | None = None
    avg_logprobs: float | None = None
    model_version: str | None = None
    go_away: types.LiveServerGoAway | None = None

    @classmethod
    def create(cls, response: types.GenerateContentResponse) -> LlmResponse:
        """Build a response from a ``GenerateContentResponse`` (first candidate only).

        A candidate with parts (or finish reason STOP) becomes content; a candidate
        without usable content becomes an error response carrying its finish reason; a
        blocked prompt becomes an error response carrying the block reason.
        """
        usage = response.usage_metadata
        if response.candidates:
            candidate = response.candidates[0]
            if (candidate.content and candidate.content.parts) or (
                candidate.finish_reason == types.FinishReason.STOP
            ):
                return cls(
                    content=candidate.content,
                    grounding_metadata=candidate.grounding_metadata,
                    usage_metadata=usage,
                    finish_reason=candidate.finish_reason,
                    citation_metadata=candidate.citation_metadata,
                    avg_logprobs=candidate.avg_logprobs,
                    model_version=response.model_version,
                )
            return cls(
                error_code=str(candidate.finish_reason.value)
                if candidate.finish_reason
                else "UNKNOWN_ERROR",
                error_message=candidate.finish_message,
                usage_metadata=usage,
                finish_reason=candidate.finish_reason,
                model_version=response.model_version,
            )
        if response.prompt_feedback and response.prompt_feedback.block_reason:
            feedback = response.prompt_feedback
            return cls(
                error_code=str(feedback.block_reason.value) if feedback.block_reason else None,
                error_message=feedback.block_reason_message,
                usage_metadata=usage,
            )
        return cls(
            error_code="UNKNOWN_ERROR",
            error_message="Unknown error.",
            usage_metadata=usage,
            model_version=response.model_version,
        )

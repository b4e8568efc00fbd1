"""RunConfig: per-run settings (streaming mode, limits, live options)."""

from __future__ import annotations

import enum
import logging
import sys
from typing import Any

import attrs
from google.genai import types

from trio_adk._utils._model import ModelMixin

_log = logging.getLogger("trio_adk")


class StreamingMode(enum.Enum):
    """How a run talks to the model: one reply per call, SSE chunks, or live (bidi)."""

    NONE = None
    SSE = "sse"
    BIDI = "bidi"


@attrs.frozen(kw_only=True)
class ToolThreadPoolConfig(ModelMixin):
    """How many sync tools of one invocation may run in worker threads at once."""

    max_workers: int = attrs.field(default=4, validator=attrs.validators.ge(1))


def _check_max_llm_calls(instance: object, attribute: object, value: int) -> None:
    RunConfig.validate_max_llm_calls(value)


@attrs.define(kw_only=True)
class RunConfig(ModelMixin):
    """Settings for one run.

    A run never mutates the ``RunConfig`` it is given; live defaults are applied to a
    copy.  Unknown keyword arguments raise ``TypeError``.

    Attributes:
        streaming_mode: ``StreamingMode.SSE`` streams partial events before the final one.
        max_llm_calls: Cap on model calls per invocation (all agents together);
            ``<= 0`` means unlimited.  Exceeding it raises ``LlmCallsLimitExceededError``.
        model_call_timeout: Seconds one model call may take (``None``: no limit); when it
            passes the run ends with ``TimeoutError``.
        custom_metadata: Merged into every event of the invocation (the event's own keys
            win).
        get_session_config: Passed to ``get_session`` when the run loads its session.
        tool_thread_pool_config: Worker-thread limit for sync tools.
        save_input_blobs_as_artifacts: Save inline data of the user message as artifacts.
        response_modalities, speech_config, output_audio_transcription,
        input_audio_transcription, realtime_input_config, enable_affective_dialog,
        proactivity, session_resumption, context_window_compression, save_live_blob:
            Live-mode settings (see ``Runner.run_live``).
        live_drain_timeout: Seconds a live run whose ``LiveRequestQueue`` was closed
            waits for the reply in flight and running tool calls before it closes the
            connection (trio-adk addition).
    """

    speech_config: types.SpeechConfig | None = None
    response_modalities: list[str] | None = None
    save_input_blobs_as_artifacts: bool = False
    support_cfc: bool = False
    streaming_mode: StreamingMode = StreamingMode.NONE
    output_audio_transcription: types.AudioTranscriptionConfig | None = None
    input_audio_transcription: types.AudioTranscriptionConfig | None = None
    realtime_input_config: types.RealtimeInputConfig | None = None
    enable_affective_dialog: bool | None = None
    proactivity: types.ProactivityConfig | None = None
    session_resumption: types.SessionResumptionConfig | None = None
    context_window_compression: types.ContextWindowCompressionConfig | None = None
    save_live_blob: bool = False
    live_drain_timeout: float = 5.0
    max_llm_calls: int = attrs.field(default=500, validator=_check_max_llm_calls)
    model_call_timeout: float | None = None
    custom_metadata: dict[str, Any] | None = None
    get_session_config: Any = None
    tool_thread_pool_config: ToolThreadPoolConfig = attrs.field(factory=ToolThreadPoolConfig)

    @classmethod
    def validate_max_llm_calls(cls, value: int) -> int:
        """Check a ``max_llm_calls`` value: ``sys.maxsize`` is rejected, ``<= 0`` warns."""
        if value == sys.maxsize:
            raise ValueError(f"max_llm_calls should be less than {sys.maxsize}.")
        if value <= 0:
            _log.warning(
                "max_llm_calls is less than or equal to 0: the number of model calls is "
                "not limited. Set a positive value to enforce a limit."
            )
        return value

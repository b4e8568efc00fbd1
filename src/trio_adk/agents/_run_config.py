"""RunConfig: per-run settings (streaming mode, limits, live options)."""

from __future__ import annotations

import enum
import logging
import sys
from typing import Any

import attrs
from google.genai import types

from trio_adk._utils._checks import check_seconds
from trio_adk._utils._model import ModelMixin
from trio_adk.sessions._session import GetSessionConfig

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
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"RunConfig.max_llm_calls must be an int, got {value!r}.")
    RunConfig.validate_max_llm_calls(value)


def _streaming_mode(value: Any) -> StreamingMode:
    """ADK coerces a mode's value (``"sse"``, ``"bidi"``, ``None``) to the mode."""
    if isinstance(value, StreamingMode):
        return value
    if isinstance(value, str):
        value = value.lower()
        if value == "none":
            return StreamingMode.NONE
    try:
        return StreamingMode(value)
    except ValueError:
        raise ValueError(
            f"RunConfig.streaming_mode must be a StreamingMode (NONE, SSE, BIDI) or one "
            f"of None, 'sse', 'bidi'; got {value!r}.") from None


def _model_call_timeout(value: Any) -> float | None:
    return check_seconds(value, "RunConfig.model_call_timeout", zero=True)


def _live_drain_timeout(value: Any) -> float:
    seconds = check_seconds(value, "RunConfig.live_drain_timeout", zero=True, optional=False)
    assert seconds is not None
    return seconds


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"RunConfig.{attribute.name} must be True or False, got {value!r}.")


def _optional_flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _flag(instance, attribute, value)


def _genai(instance: object, field: attrs.Attribute[Any], value: object) -> None:
    """Validator of the optional google-genai type fields (``metadata["genai"]`` names
    the type)."""
    kind: type[Any] = field.metadata["genai"]
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"RunConfig.{field.name} must be a types.{kind.__name__} or None, "
                        f"got {type(value).__name__}; build one with "
                        f"types.{kind.__name__}(...).")


def _modalities(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise TypeError("RunConfig.response_modalities must be a list such as ['AUDIO'] or "
                        f"['TEXT'], or None; got {value!r}.")
    out: list[str] = []
    for item in value:
        item = getattr(item, "value", item)  # types.Modality members
        if not isinstance(item, str):
            raise TypeError("RunConfig.response_modalities must hold str such as 'AUDIO' "
                            f"or 'TEXT', got {item!r}.")
        out.append(item)
    return out


def _optional_dict(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"RunConfig.{attribute.name} must be a dict or None, got "
                        f"{type(value).__name__}.")


def _of_type(kind: type[Any], optional: bool) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if (value is None and optional) or isinstance(value, kind):
            return
        raise TypeError(f"RunConfig.{attribute.name} must be a {kind.__name__}"
                        f"{' or None' if optional else ''}, got {type(value).__name__}.")
    return check


@attrs.define(kw_only=True)
class RunConfig(ModelMixin):
    """Settings for one run.

    A run never mutates the ``RunConfig`` it is given; live defaults are applied to a
    copy.  Unknown keyword arguments raise ``TypeError``, and so do values of the wrong
    type; out-of-range values raise ``ValueError``, both naming the field, when the
    config is built or a field is set.  As in ADK, ``streaming_mode`` also takes the
    mode's value (``"sse"``, ``"bidi"``, ``None``) and google-genai fields take dicts.

    Attributes:
        streaming_mode: ``StreamingMode.SSE`` streams partial events before the final one.
        max_llm_calls: Cap on model calls per invocation (all agents together);
            ``<= 0`` means unlimited.  Exceeding it raises ``LlmCallsLimitExceededError``.
        model_call_timeout: Seconds one model call may take, a finite number, zero or
            more (``None``: no limit); when it passes the run ends with ``TimeoutError``.
        custom_metadata: Merged into every event of the invocation (the event's own keys
            win).
        get_session_config: Passed to ``get_session`` when the run loads its session.
        tool_thread_pool_config: Worker-thread limit for sync tools.
        save_input_blobs_as_artifacts: Save inline data of the user message as artifacts.
        response_modalities, speech_config, output_audio_transcription,
        input_audio_transcription, realtime_input_config, enable_affective_dialog,
        proactivity, session_resumption, context_window_compression, save_live_blob:
            Live-mode settings (see ``Runner.run_live``).
        live_drain_timeout: Seconds (zero or more) a live run whose ``LiveRequestQueue`` was closed
            waits for the reply in flight and running tool calls before it closes the
            connection (trio-adk addition).
    """

    speech_config: types.SpeechConfig | None = attrs.field(
        default=None, validator=_genai, metadata={"genai": types.SpeechConfig})
    response_modalities: list[str] | None = attrs.field(default=None, converter=_modalities)
    save_input_blobs_as_artifacts: bool = attrs.field(default=False, validator=_flag)
    support_cfc: bool = attrs.field(default=False, validator=_flag)
    streaming_mode: StreamingMode = attrs.field(default=StreamingMode.NONE,
                                                converter=_streaming_mode)
    output_audio_transcription: types.AudioTranscriptionConfig | None = attrs.field(
        default=None, validator=_genai, metadata={"genai": types.AudioTranscriptionConfig})
    input_audio_transcription: types.AudioTranscriptionConfig | None = attrs.field(
        default=None, validator=_genai, metadata={"genai": types.AudioTranscriptionConfig})
    realtime_input_config: types.RealtimeInputConfig | None = attrs.field(
        default=None, validator=_genai, metadata={"genai": types.RealtimeInputConfig})
    enable_affective_dialog: bool | None = attrs.field(default=None, validator=_optional_flag)
    proactivity: types.ProactivityConfig | None = attrs.field(
        default=None, validator=_genai, metadata={"genai": types.ProactivityConfig})
    session_resumption: types.SessionResumptionConfig | None = attrs.field(
        default=None, validator=_genai, metadata={"genai": types.SessionResumptionConfig})
    context_window_compression: types.ContextWindowCompressionConfig | None = attrs.field(
        default=None, validator=_genai, metadata={"genai": types.ContextWindowCompressionConfig})
    save_live_blob: bool = attrs.field(default=False, validator=_flag)
    live_drain_timeout: float = attrs.field(default=5.0, converter=_live_drain_timeout)
    max_llm_calls: int = attrs.field(default=500, validator=_check_max_llm_calls)
    model_call_timeout: float | None = attrs.field(default=None, converter=_model_call_timeout)
    custom_metadata: dict[str, Any] | None = attrs.field(default=None, validator=_optional_dict)
    get_session_config: GetSessionConfig | None = attrs.field(
        default=None, validator=_of_type(GetSessionConfig, optional=True))
    tool_thread_pool_config: ToolThreadPoolConfig = attrs.field(
        factory=ToolThreadPoolConfig, validator=_of_type(ToolThreadPoolConfig, optional=False))

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


def check_run_config(value: Any, what: str = "run_config") -> RunConfig | None:
    """A caller's ``run_config``: a :class:`RunConfig` or ``None``; anything else (a dict
    included) is a ``TypeError`` naming ``what``.  Called before a run starts."""
    if value is None or isinstance(value, RunConfig):
        return value
    hint = "; build one with RunConfig(**your_dict)" if isinstance(value, dict) else ""
    raise TypeError(f"{what} must be a RunConfig, got {type(value).__name__}{hint}.")

"""``WS /run_live``: a socket's receiver, sender and live run in one nursery.

Client frames are ``LiveRequest`` JSON (``content``, ``blob``, ``activity_start``,
``activity_end``, ``audio_stream_end``, ``close``); when several are set the run takes
``activity_start`` > ``activity_end`` > ``audio_stream_end`` > ``blob``, and ``content`` as
well.  Server frames are one camelCase event each.  Close codes, as in ADK: 1008 before
the handshake completes for a refused host or origin and a missing app name (the
client sees the upgrade rejected with 403), 1002 ``Session not found``, 1011 for an error
(reason cut to 123 bytes), 1000 when the run ends (the client sent ``close``).

Cancellation: the receiver, the sender and the run are one nursery.  A client that
disconnects ends the receiver with ``WebSocketDisconnect``, which cancels the run; the
run's cleanup (the model connection closed with 1001, shielded and bounded) is awaited
before the handler returns.  A server shutdown cancels the nursery the same way; so does a
drain that runs out of time, after which the socket is closed with 1001 (going away, see
``trio_adk.server._drain``), so the client knows to reconnect elsewhere.
"""

from __future__ import annotations

import json
import logging
from contextlib import aclosing
from typing import Any

import trio
from fastapi import WebSocket, WebSocketDisconnect
from google.genai import types

from trio_adk.agents._live_request_queue import LiveRequest, LiveRequestQueue
from trio_adk.agents._run_config import RunConfig
from trio_adk.errors import SessionNotFoundError
from trio_adk.server._wire import compact, event_json

_log = logging.getLogger("trio_adk.server")

REASON_LIMIT = 123
"""The most bytes a WebSocket close reason may take."""

_MODALITIES = ("TEXT", "AUDIO", "VIDEO")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class BadFrame(ValueError):
    """A client frame that is not a LiveRequest (closes the socket with 1007)."""


def cut_reason(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore")


def parse_flag(value: str | None, name: str) -> bool | None:
    """A boolean query parameter as FastAPI reads it (``None`` when absent)."""
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def live_run_config(query: Any) -> RunConfig:
    """The live ``RunConfig`` from ``/run_live``'s query parameters (``ValueError`` names a
    bad one)."""
    modalities = query.getlist("modalities") or ["AUDIO"]
    for modality in modalities:
        if modality not in _MODALITIES:
            raise ValueError(f"modalities must be TEXT, AUDIO or VIDEO, got {modality!r}")
    proactive = parse_flag(query.get("proactive_audio"), "proactive_audio")
    affective = parse_flag(query.get("enable_affective_dialog"), "enable_affective_dialog")
    resumption = parse_flag(query.get("enable_session_resumption"),
                            "enable_session_resumption")
    save_blob = parse_flag(query.get("save_live_blob"), "save_live_blob")
    # explicit_vad_signal and the VIDEO avatar are accepted; trio-adk's live flow has no
    # setting for them yet.
    parse_flag(query.get("explicit_vad_signal"), "explicit_vad_signal")
    return RunConfig(
        response_modalities=list(modalities),
        proactivity=None if proactive is None else types.ProactivityConfig(
            proactive_audio=proactive),
        enable_affective_dialog=affective,
        session_resumption=None if resumption is None else types.SessionResumptionConfig(
            transparent=resumption),
        save_live_blob=bool(save_blob))


def parse_frame(text: str) -> LiveRequest:
    """A client frame as a ``LiveRequest`` (:class:`BadFrame` says what is wrong)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadFrame(f"frame is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadFrame("frame must be a JSON object (a LiveRequest)")
    try:
        return LiveRequest.model_validate(data)
    except (TypeError, ValueError) as exc:
        raise BadFrame(f"frame is not a LiveRequest: {exc}") from None


async def _receive(websocket: WebSocket, queue: LiveRequestQueue) -> None:
    """Client frames into the live queue, waiting for room (the queue is bounded)."""
    while True:
        request = parse_frame(await websocket.receive_text())
        await queue.asend(request)
        if request.close:
            return


async def serve_live(websocket: WebSocket, runner: Any, *, user_id: str, session_id: str,
                     run_config: RunConfig) -> None:
    """Drive one accepted ``/run_live`` socket until the run ends or the client leaves."""
    queue = LiveRequestQueue()
    close: tuple[int, str] | None = (1000, "")
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_receive, websocket, queue)
            async with aclosing(runner.run_live(user_id=user_id, session_id=session_id,
                                                live_request_queue=queue,
                                                run_config=run_config)) as events:
                async for event in events:
                    await websocket.send_text(compact(event_json(event)))
            nursery.cancel_scope.cancel()
    except* WebSocketDisconnect:
        _log.info("Client disconnected during live session.")
        close = None
    except* SessionNotFoundError:
        close = (1002, "Session not found")
    except* BadFrame as group:
        close = (1007, cut_reason(str(group.exceptions[0])))
    except* Exception as group:
        _log.error("Error during live websocket communication", exc_info=group)
        close = (1011, cut_reason(str(group.exceptions[0])))
    if close is not None:
        await _close(websocket, *close)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close the socket; a client already gone is not an error."""
    try:
        await websocket.close(code=code, reason=reason)
    except (RuntimeError, OSError, WebSocketDisconnect):
        pass

"""``trio-adk demo --live``: a scripted voice conversation with a tool call.

Offline (no API key, no ``--base-url``) it talks to an in-process fake Gemini Live server
that transcribes each utterance, answers with synthetic audio plus output transcription,
and calls the ``get_weather`` tool on the second turn.  The user side streams 20 ms frames
of 16 kHz PCM through a ``LiveRequestQueue`` in real time, bracketed by activity
start/end signals.  With ``GOOGLE_API_KEY`` set it talks to the real Live API instead; the
user turns are then sent as text (a synthetic tone is not speech), and the model answers
in audio with transcripts.

Printed per turn: what the user said (input transcription), tool calls and results, the
model's words (output transcription) with the audio received, and latency: from the end
of the user's turn to the first audio chunk, and to ``turn_complete``.
"""

from __future__ import annotations

import math
import struct
import sys
from contextlib import aclosing
from typing import Any, TextIO

import attrs
import trio
from google.genai import types

from trio_adk import Agent, InMemoryRunner
from trio_adk._demo import choose_target
from trio_adk.agents import LiveRequestQueue, RunConfig
from trio_adk.events import Event

LIVE_MODEL = "gemini-2.0-flash-live-001"
USER_TURNS = ["Hello there!", "What's the weather in Paris?", "Thanks, goodbye!"]
FRAME_MS = 20
RATE = 16000
FRAMES_PER_TURN = 25  # half a second of "speech" per turn


def get_weather(city: str) -> dict[str, str]:
    """Return the current weather report for a city."""
    return {"city": city, "report": "sunny, 22 degrees"}


def build_live_agent(model: Any = LIVE_MODEL) -> Agent:
    """The live demo agent: a voice concierge with one tool."""
    return Agent(
        name="voice_concierge",
        model=model,
        instruction="You are a friendly voice concierge. Keep answers short. Use get_weather "
                    "for weather questions.",
        tools=[get_weather],
    )


def live_demo_script() -> Any:
    """The fake server's side of the conversation."""
    from trio_adk.testing import live_script as ls

    return ls.LiveConversation(
        ls.on_utterance(ls.speak("Hi! I'm your voice concierge. How can I help?",
                                 chunks=4, delay=0.05)),
        ls.on_utterance(
            ls.call_tool("get_weather", {"city": "Paris"},
                         expect={"city": "Paris", "report": "sunny, 22 degrees"}),
            ls.speak(lambda ctx: f"It's {ctx.tool_response['report']} in Paris today.",
                     chunks=4, delay=0.05)),
        ls.on_utterance(ls.speak("You're welcome. Goodbye!", chunks=2, delay=0.05)),
        transcripts=USER_TURNS,
        echo_audio=False,
    )


def speech_frame(index: int) -> bytes:
    """20 ms of a 220 Hz tone, 16-bit little-endian mono PCM at 16 kHz."""
    samples = RATE * FRAME_MS // 1000
    start = index * samples
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * (start + i)
                                                          / RATE)))
                    for i in range(samples))


@attrs.define
class _Turn:
    """Timing and text of one model turn, as the consumer saw it."""

    ended_at: float = 0.0
    first_audio: float | None = None
    audio_bytes: int = 0
    words: list[str] = attrs.field(factory=list)


async def run_live_demo(out: TextIO = sys.stdout, *, base_url: str | None = None) -> None:
    """Run the live demo, printing to ``out``, against the server
    :func:`~trio_adk._demo.choose_target` picks (the API key, if set, goes to a ``base_url``
    server too).

    Errors of the Live connection propagate (wrapped in exception groups by the nurseries).
    Cancellation stops the conversation, closes the Live session and the runner (and the
    offline fake server) before it propagates.
    """
    target = choose_target(base_url)
    if target.url is not None:
        out.write(f"trio-adk live demo: using the Gemini-compatible server at {target.url}.\n")
        out.flush()
        await _conversation(build_live_agent(_gemini(target.url)), out, audio=True)
    elif target.real_gemini:
        out.write(f"trio-adk live demo: talking to the real Gemini Live API ({LIVE_MODEL}); "
                  "user turns are sent as text.\n")
        out.flush()
        await _conversation(build_live_agent(LIVE_MODEL), out, audio=False)
    else:
        from trio_adk.testing import FakeGeminiServer, LiveScript

        conversation = live_demo_script()
        async with FakeGeminiServer(live=LiveScript(handler=conversation)) as server:
            out.write("trio-adk live demo: no GOOGLE_API_KEY is set, so this runs offline "
                      f"against a fake Gemini Live server on {server.base_url}.\n")
            out.flush()
            await _conversation(build_live_agent(_gemini(server.base_url)), out, audio=True)
        for failure in conversation.failures:
            out.write(f"  (fake server: {failure})\n")


def _gemini(base_url: str) -> Any:
    from trio_adk.models import Gemini

    return Gemini(model=LIVE_MODEL, base_url=base_url)


async def _conversation(agent: Agent, out: TextIO, *, audio: bool) -> None:
    runner = InMemoryRunner(agent, app_name="trio_adk_live_demo")
    queue = LiveRequestQueue()
    config = RunConfig(
        response_modalities=["AUDIO"],
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)),
    )
    turn_done = trio.Event()
    turns: list[_Turn] = []

    async def user() -> None:
        nonlocal turn_done
        for text in USER_TURNS:
            turn = _Turn()
            turns.append(turn)
            if audio:
                await _speak(queue)
            else:
                queue.send_content(types.Content(role="user", parts=[types.Part(text=text)]))
            turn.ended_at = trio.current_time()
            await turn_done.wait()
            turn_done = trio.Event()
        queue.close()

    async with runner, trio.open_nursery() as nursery:
        nursery.start_soon(user)
        events = runner.run_live(user_id="demo_user", session_id="live",
                                 live_request_queue=queue, run_config=config)
        async with aclosing(events) as stream:
            async for event in stream:
                turn = turns[-1] if turns else _Turn()
                _show(event, turn, out)
                # A tool call ends the model's turn early (turn_complete, then the
                # tool's answer, then the spoken reply): wait for the spoken one.
                if event.turn_complete and (turn.first_audio is not None or turn.words):
                    _summary(turn, out)
                    turn_done.set()
    out.write("\ndone.\n")


async def _speak(queue: LiveRequestQueue) -> None:
    """Stream half a second of audio in real time, bracketed by activity signals."""
    queue.send_activity_start()
    for index in range(FRAMES_PER_TURN):
        frame = types.Blob(data=speech_frame(index), mime_type=f"audio/pcm;rate={RATE}")
        queue.send_realtime(frame)
        await trio.sleep(FRAME_MS / 1000)
    queue.send_activity_end()


def _show(event: Event, turn: _Turn, out: TextIO) -> None:
    now = trio.current_time()
    transcript = event.input_transcription
    if transcript is not None and transcript.finished and not event.partial:
        out.write(f"\nyou (heard)> {transcript.text}\n")
    for call in event.get_function_calls():
        args = ", ".join(f"{k}={v!r}" for k, v in (call.args or {}).items())
        out.write(f"  [{event.author}] calls {call.name}({args})\n")
    for response in event.get_function_responses():
        out.write(f"  [{event.author}] {response.name} -> {response.response}\n")
    if event.content and event.content.parts:
        for part in event.content.parts:
            blob = part.inline_data
            if blob is not None and (blob.mime_type or "").startswith("audio/"):
                if turn.first_audio is None:
                    turn.first_audio = now
                turn.audio_bytes += len(blob.data or b"")
            elif part.text and not event.partial:
                out.write(f"  [{event.author}] {part.text}\n")
    spoken = event.output_transcription
    if spoken is not None and spoken.finished and not event.partial and spoken.text:
        turn.words.append(spoken.text)
    if event.error_code:
        out.write(f"  [error {event.error_code}] {event.error_message}\n")
    out.flush()


def _summary(turn: _Turn, out: TextIO) -> None:
    if turn.words:
        out.write(f"  [voice_concierge] (speaking) {' '.join(turn.words)}\n")
    now = trio.current_time()
    first = "n/a" if turn.first_audio is None else \
        f"{(turn.first_audio - turn.ended_at) * 1000:.1f} ms"
    out.write(f"  latency: first audio {first}, turn complete "
              f"{(now - turn.ended_at) * 1000:.1f} ms after the end of your turn; "
              f"{turn.audio_bytes / 1024:.1f} KiB of audio\n")
    out.flush()

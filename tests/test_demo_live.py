"""``trio-adk demo --live``: the scripted voice conversation, in process and as a command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trio_adk._demo_live import run_live_demo, speech_frame

ROOT = Path(__file__).resolve().parent.parent
ENV_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")

LIVE_DEMO_LINES = [
    "you (heard)> Hello there!",
    "[voice_concierge] (speaking) Hi! I'm your voice concierge. How can I help?",
    "you (heard)> What's the weather in Paris?",
    "[voice_concierge] calls get_weather(city='Paris')",
    "[voice_concierge] get_weather -> {'city': 'Paris', 'report': 'sunny, 22 degrees'}",
    "[voice_concierge] (speaking) It's sunny, 22 degrees in Paris today.",
    "you (heard)> Thanks, goodbye!",
    "[voice_concierge] (speaking) You're welcome. Goodbye!",
    "done.",
]


def check_live_transcript(out: str) -> None:
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    assert "runs offline against a fake Gemini Live server" in lines[0]
    positions = []
    for expected in LIVE_DEMO_LINES:
        assert expected in lines, f"missing {expected!r} in:\n{out}"
        positions.append(lines.index(expected))
    assert sorted(positions) == positions
    latencies = [line for line in lines if line.startswith("latency: first audio")]
    assert 3 == len(latencies), out
    assert "fake server:" not in out  # the tool's answer matched what the script expected


def test_speech_frame_is_20_ms_of_16_khz_pcm() -> None:
    assert 640 == len(speech_frame(0))
    assert speech_frame(0) != speech_frame(1)


@pytest.mark.slow
async def test_live_demo_runs_offline_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key: a fake Live server, three spoken turns, a tool call, latencies."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    out = io.StringIO()
    await run_live_demo(out)
    check_live_transcript(out.getvalue())


@pytest.mark.slow
def test_live_demo_command() -> None:
    """``python -m trio_adk demo --live`` runs offline from the command line."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    result = subprocess.run([sys.executable, "-m", "trio_adk", "demo", "--live"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stderr
    check_live_transcript(result.stdout)

"""Every example runs offline and prints what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(name: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stderr
    return result.stdout


def test_quickstart_calls_the_tool_and_answers() -> None:
    """The quickstart streams the tool call, its result and the final answer."""
    out = _run("quickstart.py")
    assert "calls get_weather({'city': 'Paris'})" in out
    assert "The weather is sunny, 22 degrees." in out

"""The benchmark scripts still run (tiny sizes, in a subprocess), so they never rot.

They measure nothing here: only that each script runs to the end, prints its table and
writes well-formed JSON.  The real results under ``benchmarks/results`` are left alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def _run(script: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, str(script), *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stderr
    return result.stdout


def test_callers_benchmark_quick(tmp_path: Path) -> None:
    """``callers.py --quick`` prints every path and close() figure and writes its JSON
    where asked (and nowhere else)."""
    out = tmp_path / "callers.json"
    before = sorted((BENCHMARKS / "results").glob("*"))
    stdout = _run(BENCHMARKS / "callers.py", "--quick", "--json", str(out))
    for label in ("trio run_async", "asyncio run_async", "sync run()",
                  "sync hand-off floor", "trio callers, 50 runs", "asyncio callers, 50 runs"):
        assert label in stdout, stdout
    results = json.loads(out.read_text())
    assert {"trio", "asyncio", "sync"} == set(results["per_event"])
    for figures in results["per_event"].values():
        assert figures["us_per_event"] > 0
        assert figures["floor_us_per_event"] > 0
    assert 1.0 == results["per_event"]["trio"]["x_trio"]
    assert {"trio_50", "asyncio_50"} == set(results["close_ms"])
    assert {"asyncio_x_trio", "sync_x_trio"} <= set(results["checks"])
    assert before == sorted((BENCHMARKS / "results").glob("*"))


def test_overhead_benchmark_small(tmp_path: Path) -> None:
    """``overhead.py`` at tiny sizes prints its table.  It writes ``results/overhead.json``
    beside itself, so a copy runs from a scratch directory."""
    script = tmp_path / "overhead.py"
    shutil.copy(BENCHMARKS / "overhead.py", script)
    (tmp_path / "results").mkdir()
    stdout = _run(script, "--runs", "50", "--sessions", "20", "--turns", "2", "--repeat", "1")
    assert "1 session, sequential" in stdout, stdout
    assert "20 sessions x 2 turns, concurrent" in stdout, stdout
    results = json.loads((tmp_path / "results" / "overhead.json").read_text())
    assert {"seq", "seq_floor", "conc", "conc_floor"} <= set(results)


def test_gemini_rest_benchmark_quick() -> None:
    """``gemini_rest.py --quick`` starts the fake server process, runs both sides and prints
    the four scenarios."""
    stdout = _run(BENCHMARKS / "gemini_rest.py", "--quick")
    for label in ("unary, 10 sequential", "unary, 10 concurrent", "sse, 10 sequential",
                  "sse, 10 concurrent"):
        assert label in stdout, stdout


def test_live_latency_benchmark_quick(tmp_path: Path) -> None:
    """``live_latency.py --quick`` starts the echoing fake server process, measures both
    paths and the small load test, prints its figures and writes the JSON where asked."""
    out = tmp_path / "live.json"
    stdout = _run(BENCHMARKS / "live_latency.py", "--quick", "--json", str(out))
    for label in ("run_live", "raw_websocket", "runner adds", "frames lost",
                  "per stream", "per live run"):
        assert label in stdout, stdout
    results = json.loads(out.read_text())
    assert results["latency"]["run_live"]["p50_us"] > 0
    assert results["latency"]["raw_websocket"]["p50_us"] > 0
    load = results["load"]
    assert 0 == load["frames_lost"] and 0 == load["duplicates"]
    assert load["frames_sent"] == load["streams"] * load["frames_per_stream"]

"""The server load benchmark at a small size (50 clients, trio-adk only, in subprocesses):
no run or request is left in flight, a client that stayed received every event its run
persisted, and a client that left missed only a tail of them (what was handed to the
connection after it closed it).  No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_server_load_quick(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "server_load.py"), "--clients", "50",
         "--runs", "2", "--disconnect", "0.3", "--no-adk", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert 0 == result.returncode, result.stdout + result.stderr
    figures = json.loads(out.read_text())
    ours = figures["results"]["trio-adk"]
    assert 100 == ours["requests"]
    assert 0 == ours["failed"]
    assert ours["left"] > 0
    assert {"active_runs": 0, "requests_in_flight": 0} == ours["stats_after"]
    assert [] == ours["violations"]
    assert [] == figures["failures"]
    assert "trio-adk checks" in result.stdout

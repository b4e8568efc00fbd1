"""``benchmarks/compare.py --quick`` still runs every scenario end to end, so the side-by-side
harness never rots.

It runs without google-adk (``--no-adk``, which is also what happens when the ADK virtualenv
cannot be created): every google-adk figure must then be reported as skipped, and no target
that needs one may count as met. Nothing is measured here; the real results under
``benchmarks/results`` are left alone (``--out`` points at a scratch directory).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
SCENARIOS = ["overhead", "tools", "streaming", "live", "cancel", "scale", "history", "memory"]


def _results() -> dict[str, int]:
    """Every file under ``benchmarks/results`` and when it last changed."""
    return {path.name: path.stat().st_mtime_ns for path in (BENCHMARKS / "results").glob("*")}


def test_compare_quick_without_adk(tmp_path: Path) -> None:
    before = _results()
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "compare.py"), "--quick", "--no-adk",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stdout + result.stderr
    # The table itself, not just the words: the progress lines already name every scenario,
    # and the first line and the legend say "google-adk", "vs ADK" and "floor".
    lines = result.stdout.splitlines()
    header = [line.split("  ") for line in lines if line.startswith("scenario ")]
    assert 1 == len(header), result.stdout
    assert ["scenario", "metric", "trio-adk", "google-adk", "vs ADK", "floor", "target",
            "met?"] == [cell.strip() for cell in header[0] if cell.strip()], result.stdout
    for name in SCENARIOS:
        assert any(line.startswith(f"{name} ") for line in lines), (name, result.stdout)

    document = json.loads((tmp_path / "compare-quick.json").read_text())
    assert (tmp_path / "compare-quick.md").exists()
    assert not (tmp_path / "compare-quick.png").exists()
    assert "skipped" == document["adk"]["status"]
    assert SCENARIOS == list(document["scenarios"])

    for name in SCENARIOS:
        record = document["scenarios"][name]
        assert "ran" == record["status"], (name, record)
        sides = record["sides"]
        assert "ok" == sides["trio"]["status"], (name, sides["trio"])
        assert sides["adk"]["status"].startswith("skipped"), (name, sides["adk"])
        if "floor" in sides:
            assert "ok" == sides["floor"]["status"], (name, sides["floor"])
        assert record["rows"], name
        for row in record["rows"]:
            # Only a figure made from google-adk's own (a ratio to it) may be missing.
            assert row["trio"] is not None or "google-adk" in row["metric"], (name, row)
            assert row["adk"] is None, (name, row)
            assert row["ratio"] is None, (name, row)
            if any(check is None for check in row["checks"]):
                assert row["met"] is not True, (name, row)

    assert {"overhead", "tools", "streaming", "live"} <= {
        name for name, record in document["scenarios"].items()
        if any(row["floor"] for row in record.get("rows", []))}
    # A target that compares with google-adk is never reported as met without it.
    rows = {row["metric"]: row for row in document["scenarios"]["scale"]["rows"]}
    assert rows["RSS per session"]["met"] is None
    # Live ran over TLS, against a second fake server with a throwaway certificate.
    live = {row["metric"]: row for row in document["scenarios"]["live"]["rows"]}
    assert live["p99 added to the floor's p99"]["met"] is None
    assert "https://" in result.stdout
    cancel = document["scenarios"]["cancel"]["sides"]["trio"]["median"]
    assert cancel["cleaned"] == cancel["runs"]
    assert 0 == cancel["tasks_alive"]
    assert before == _results()


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def test_adk_sides_import_only_what_the_adk_app_defines() -> None:
    """The google-adk sides cannot run here (google-adk lives in its own virtualenv), so
    check statically that every name they import from ``scenarios._adk_app`` exists there: a
    linter removing an "unused" re-export would otherwise only show up in a full run."""
    scenarios = BENCHMARKS / "scenarios"
    defined = _top_level_names(ast.parse((scenarios / "_adk_app.py").read_text()))
    wanted = {(path.name, alias.name)
              for path in scenarios.glob("*.py")
              for node in ast.walk(ast.parse(path.read_text()))
              if isinstance(node, ast.ImportFrom) and node.module == "scenarios._adk_app"
              for alias in node.names}
    assert wanted, "no scenario imports scenarios._adk_app"
    assert [] == sorted(item for item in wanted if item[1] not in defined)

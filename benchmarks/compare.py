"""trio-adk and google-adk side by side: the same scenarios, the same machine, the same run.

    .venv/bin/python benchmarks/compare.py            # full sizes, 3 alternating rounds
    .venv/bin/python benchmarks/compare.py --quick    # every scenario at a tiny size
    .venv/bin/python benchmarks/compare.py --no-adk   # trio-adk and the floors only

The first run creates ``benchmarks/.adk-venv`` (kept out of git) with google-adk pinned to
``ADK_VERSION`` from PyPI; later runs reuse it. If it cannot be created (no network), every
google-adk figure is reported as skipped, and so is every target that needs one.

Each scenario is a module under ``benchmarks/scenarios/`` with a trio-adk side, a google-adk
side (each written as that framework's users write it) and, where there is one, a floor.
Every side of every round runs in a fresh subprocess (trio-adk and the floor with this
interpreter, google-adk with the ADK virtualenv's), so RSS and interpreter state are clean;
the sides alternate round by round (trio, adk, floor / adk, floor, trio / ...) so that machine
noise hits all of them, and the table shows the median of the rounds. The fake Gemini server
runs in a process of its own for the whole invocation (a second one over TLS, with a throwaway
certificate, for the live scenario: google-genai only speaks Live over ``wss://``).

The table: one row per figure, with trio-adk's and google-adk's medians, "vs ADK" (how many
times better trio-adk is: ADK's time or memory divided by trio-adk's, so above 1 means trio-adk
wins), the floor measured in the same run, the issue's target and whether it is met ("n/j":
cannot be judged in this run, for example without google-adk; never counted as met).

Results: ``benchmarks/results/compare.json`` (every round of every side), ``compare.md`` (the
table for the README, with the machine) and ``compare.png`` (a chart; needs matplotlib, the
``bench`` extra). ``--quick`` writes ``compare-quick.json``/``compare-quick.md`` instead and
no chart; ``--out DIR`` writes there instead of ``benchmarks/results``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from scenarios import SCENARIOS  # noqa: E402
from scenarios._common import Row, SideResult  # noqa: E402

ADK_VERSION = "2.13.0"
ADK_VENV = BENCH / ".adk-venv"
RESULTS = BENCH / "results"
DEFAULT_ROUNDS = 3
PIP_TIMEOUT = 900
SIDE_TIMEOUT = {"quick": 120, "full": 1200}
SERVER_STOP_TIMEOUT = 10
FAKE_KEY = "bench-key"


# ---- the google-adk virtualenv ----------------------------------------------------------

@dataclass
class Adk:
    """The google-adk side: the interpreter to run it with, or why it is skipped."""

    python: Path | None
    version: str | None
    reason: str = ""
    genai_version: str | None = None


def _adk_versions(python: Path) -> tuple[str, str] | None:
    probe = ("import importlib.metadata as m; "
             "print(m.version('google-adk'), m.version('google-genai'))")
    try:
        result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                                timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = result.stdout.split()
    return (words[0], words[1]) if result.returncode == 0 and len(words) == 2 else None


def ensure_adk(args: argparse.Namespace) -> Adk:
    """The ADK virtualenv's interpreter, creating the virtualenv (pinned google-adk) if
    needed; or the reason the google-adk side is skipped."""
    if args.no_adk:
        return Adk(None, None, "skipped: --no-adk")
    # absolute(), not resolve(): a virtualenv's python is a symlink to the base interpreter,
    # and the sides run with another working directory.
    python = Path(args.adk_python).absolute() if args.adk_python else ADK_VENV / "bin" / "python"
    found = _adk_versions(python) if python.exists() else None
    if found is not None and (args.adk_python or found[0] == args.adk_version):
        return Adk(python, found[0], genai_version=found[1])
    if args.adk_python:
        return Adk(None, None, f"skipped: google-adk does not import with {python}")
    print(f"creating {ADK_VENV.relative_to(ROOT)} with google-adk=={args.adk_version} "
          "(once; later runs reuse it) ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [[base, "-m", "venv", "--clear", str(ADK_VENV)],
             [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              f"google-adk=={args.adk_version}"]]
    for step in steps:
        try:
            result = subprocess.run(step, capture_output=True, text=True, timeout=PIP_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Adk(None, None, f"skipped: {' '.join(step[:3])} failed ({exc})")
        if result.returncode != 0:
            lines = [ln for ln in result.stderr.splitlines()
                     if ln.strip() and not ln.startswith("WARNING")]
            detail = lines[-1] if lines else f"exit {result.returncode}"
            return Adk(None, None, f"skipped: cannot install google-adk=={args.adk_version} "
                                   f"({detail})")
    found = _adk_versions(python)
    if found is None:
        return Adk(None, None, "skipped: google-adk installed but does not import")
    return Adk(python, found[0], genai_version=found[1])


# ---- the fake Gemini server -------------------------------------------------------------

@contextlib.contextmanager
def fake_server(*options: str) -> Iterator[str]:
    """The fake Gemini server in its own process (shared by every side), started with the
    given command-line ``options``: its base URL while the block runs; stopped (terminated,
    killed if it lingers, and waited for) however the block ends, Ctrl-C included, and also if
    it fails to start."""
    command = [sys.executable, "-m", "trio_adk.testing.fake_gemini", "--port", "0", *options]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the fake Gemini server did not start: {url!r}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def fake_tls_server() -> Iterator[tuple[str, Path]]:
    """The fake Gemini server over TLS, echoing live audio (for the live scenario): its
    ``https://`` base URL and the PEM file of the throwaway authority that signed its
    certificate (removed with its temporary directory when the block ends)."""
    with tempfile.TemporaryDirectory(prefix="trio-adk-bench-") as directory:
        ca = Path(directory) / "fake-gemini-ca.pem"
        with fake_server("--echo-audio", "--tls-ca", str(ca)) as url:
            yield url, ca


# ---- running the sides ------------------------------------------------------------------

def side_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a side: this one, without Vertex settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GOOGLE_GENAI_USE_VERTEXAI", "PYTHONPATH")}
    env.update(extra)
    return env


def run_side(python: Path, scenario: str, side: str, size: str,
             env: dict[str, str]) -> SideResult:
    """One side of one scenario in a fresh process: its figures, or ``{"error": ...}``."""
    command = [str(python), "-m", f"scenarios.{scenario}", "--side", side, "--size", size]
    try:
        result = subprocess.run(command, cwd=BENCH, env=env, capture_output=True, text=True,
                                timeout=SIDE_TIMEOUT[size])
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {SIDE_TIMEOUT[size]} s"}
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not lines[-1].startswith("{"):
        tail = [ln for ln in result.stderr.strip().splitlines() if ln.strip()][-3:]
        return {"error": f"exit {result.returncode}: " + " | ".join(tail)}
    figures: SideResult = json.loads(lines[-1])
    return figures


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def median_figures(rounds: list[SideResult]) -> SideResult:
    """The median of each numeric figure over the rounds (that have it)."""
    keys = {k for figures in rounds for k, v in figures.items() if _is_number(v)}
    return {key: statistics.median(float(f[key]) for f in rounds if _is_number(f.get(key)))
            for key in sorted(keys)}


def scenario_rounds(module: ModuleType, args: argparse.Namespace) -> int:
    """How many alternating rounds a scenario runs: ``--rounds`` if given, else 1 with
    ``--quick`` and the module's ``ROUNDS`` (default ``DEFAULT_ROUNDS``) at full size; at
    most the module's ``MAX_ROUNDS`` at full size."""
    if args.quick:
        return args.rounds or 1
    wanted: int = args.rounds or getattr(module, "ROUNDS", DEFAULT_ROUNDS)
    return min(wanted, getattr(module, "MAX_ROUNDS", wanted))


def run_scenario(module: ModuleType, args: argparse.Namespace, adk: Adk,
                 env: dict[str, str]) -> dict[str, Any]:
    """Every round of every side of one scenario, alternating, and their medians."""
    record: dict[str, Any] = {"what": module.WHAT, "floor": module.FLOOR,
                              "target": getattr(module, "TARGET", ""),
                              "size": dict(module.SIZES[args.size]), "sides": {}}
    sides: dict[str, Path] = {"trio": Path(sys.executable)}
    if adk.python is not None:
        sides["adk"] = adk.python
    else:
        record["sides"]["adk"] = {"status": adk.reason}
    if module.floor_side is not None:
        sides["floor"] = Path(sys.executable)
    rounds = scenario_rounds(module, args)
    record["rounds"] = rounds
    order = list(sides)
    results: dict[str, list[SideResult]] = {side: [] for side in order}
    for index in range(rounds):
        for side in order[index % len(order):] + order[:index % len(order)]:
            started = time.perf_counter()
            figures = run_side(sides[side], module.NAME, side, args.size, env)
            figures["seconds"] = time.perf_counter() - started
            results[side].append(figures)
            print(f"  {module.NAME:<10} round {index + 1}/{rounds} {side:<5} "
                  f"{figures['seconds']:6.1f} s  {_brief(figures)}", flush=True)
    for side, rounds_figures in results.items():
        errors = [f["error"] for f in rounds_figures if "error" in f]
        if errors:
            record["sides"][side] = {"status": f"error: {errors[0]}", "rounds": rounds_figures}
        else:
            record["sides"][side] = {"status": "ok", "rounds": rounds_figures,
                                     "median": median_figures(rounds_figures)}
    record["status"] = "ran"
    return record


def _brief(figures: SideResult) -> str:
    if "error" in figures:
        return f"ERROR {figures['error']}"
    return " ".join(f"{k}={_num(v)}" for k, v in figures.items()
                    if k != "seconds" and isinstance(v, int | float))[:110]


# ---- the table --------------------------------------------------------------------------

def _num(value: Any) -> str:
    if value is None:
        return "-"
    if not isinstance(value, int | float):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(met: bool | None, has_target: bool) -> str:
    if not has_target:
        return ""
    return {True: "yes", False: "NO", None: "n/j"}[met]


def table_rows(scenarios: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The table's cells, one list per row, scenarios in order."""
    cells: list[list[str]] = []
    for name, record in scenarios.items():
        if record["status"] != "ran":
            cells.append([name, record["what"][:58], "skipped", "skipped", "-", "-",
                          record["target"], record["status"]])
            continue
        for index, row in enumerate(record["rows"]):
            ratio = row["ratio"]
            cells.append([
                name if index == 0 else "",
                f"{row['metric']} ({row['unit']})",
                _num(row["trio"]) if row["trio"] is not None else _side_status(record, "trio"),
                _num(row["adk"]) if row["adk"] is not None else _side_status(record, "adk"),
                "-" if ratio is None else f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x",
                _num(row["floor"]),
                row["target"],
                _verdict(row["met"], bool(row["checks"])),
            ])
    return cells


def _side_status(record: dict[str, Any], side: str) -> str:
    status = record["sides"].get(side, {}).get("status", "-")
    return "-" if status == "ok" else status.split(":")[0]


LEGEND = ("vs ADK: how many times better trio-adk is (google-adk's time or memory divided by "
          "trio-adk's; above 1: trio-adk wins). floor: measured in the same run. n/j: not "
          "judged in this run (never counted as met).")
HEADER = ["scenario", "metric", "trio-adk", "google-adk", "vs ADK", "floor", "target", "met?"]


def print_table(cells: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [HEADER, *cells]) for i in range(len(HEADER))]
    widths[1] = min(widths[1], 58)
    numeric = {2, 3, 4, 5}
    for row in [HEADER, *cells]:
        print("  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())


def rounds_summary(scenarios: dict[str, dict[str, Any]]) -> str:
    """"median of 3 alternating rounds (live 5, scale 1)": the most common count, then the
    scenarios that ran another number of rounds."""
    counts = {name: record["rounds"] for name, record in scenarios.items() if "rounds" in record}
    if not counts:
        return "no rounds"
    usual = statistics.mode(counts.values())
    others = ", ".join(f"{name} {n}" for name, n in counts.items() if n != usual)
    noun = "round" if usual == 1 else "rounds"
    return f"median of {usual} alternating {noun}" + (f" ({others})" if others else "")


def markdown(cells: list[list[str]], machine: dict[str, Any], versions: dict[str, Any],
             args: argparse.Namespace, scenarios: dict[str, dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |",
             "| " + " | ".join("---:" if i in (2, 3, 4, 5) else "---"
                               for i in range(len(HEADER))) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells]
    rounds = "" if args.quick else f", {rounds_summary(scenarios)}"
    return (f"Machine: {machine['summary']}. trio-adk {versions['trio-adk']}, google-adk "
            f"{versions['google-adk'] or 'skipped'}{rounds}.\n\n" + "\n".join(lines) + "\n\n"
            + LEGEND + "\n")


# ---- the chart --------------------------------------------------------------------------

def chart(scenarios: dict[str, dict[str, Any]], path: Path, title: str) -> bool:
    """One panel per scenario, one group of bars per figure: trio-adk, google-adk and the
    floor, each scaled to the largest of its group (so figures in different units share an
    axis) and labelled with its value. False (and nothing written) without matplotlib."""
    try:
        import matplotlib  # type: ignore[import, unused-ignore]
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import, unused-ignore]

    panels = []
    for name, record in scenarios.items():
        if record["status"] != "ran":
            continue
        rows = [r for r in record["rows"] if r["unit"] in ("us/run", "ms", "s", "MiB", "KiB")
                and (r["trio"] or r["adk"])]
        if rows:
            panels.append((name, rows))
    if not panels:
        return False
    height = 1.0 + sum(0.8 + 0.55 * len(rows) for _, rows in panels)
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, height), squeeze=False,
                                gridspec_kw={"height_ratios": [len(r) for _, r in panels]})
    colours = {"trio": "#2a7ab9", "adk": "#e08a2c", "floor": "#9a9a9a"}
    names = {"trio": "trio-adk", "adk": "google-adk", "floor": "floor"}
    for axis, (name, rows) in zip(axes[:, 0], panels, strict=True):
        bar_height = 0.26
        for offset, side in enumerate(("trio", "adk", "floor")):
            for index, row in enumerate(rows):
                value = row[side]
                if not value:
                    continue
                largest = max(row[s] or 0 for s in ("trio", "adk", "floor"))
                y = index + (offset - 1) * bar_height
                axis.barh(y, value / largest, height=bar_height, color=colours[side],
                          label=names[side] if index == 0 else None)
                axis.text(value / largest, y, f" {_num(value)} {row['unit']}", va="center",
                          fontsize=7)
        axis.set_yticks(range(len(rows)))
        axis.set_yticklabels([f"{r['metric']} ({r['unit']})"[:48] for r in rows], fontsize=8)
        axis.invert_yaxis()
        axis.set_xlim(0, 1.25)
        axis.set_xticks([])
        axis.set_title(name, loc="left", fontsize=10, fontweight="bold")
    axes[0, 0].legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, fontsize=8,
                      frameon=False)
    axes[-1, 0].set_xlabel("each figure relative to the largest of its group (shorter is "
                           "better)", fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


# ---- the machine ------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = None
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        pass
    cores = os.cpu_count()
    summary = (f"{cores}-core {platform.machine()} ({cpu}), "
               f"{memory_gib:.0f} GiB, {platform.system()} {platform.release()}, "
               f"Python {platform.python_version()}")
    return {"summary": summary, "cpu": cpu, "cores": cores, "memory_gib": memory_gib,
            "platform": platform.platform(), "python": platform.python_version()}


def versions_info(adk: Adk) -> dict[str, Any]:
    import importlib.metadata as metadata

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                                capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return {"trio-adk": f"{version('trio-adk')} ({commit or 'no git'})",
            "trio": version("trio"), "google-genai (trio-adk side)": version("google-genai"),
            "google-adk": adk.version, "google-genai (ADK side)": adk.genai_version}


# ---- main -------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="every scenario at a tiny size, one round (checks the harness)")
    parser.add_argument("--no-adk", action="store_true",
                        help="skip google-adk (its figures and targets are reported skipped)")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"alternating rounds per scenario (default: the scenario's "
                             f"ROUNDS or {DEFAULT_ROUNDS}, 1 with --quick; scale runs at "
                             "most its MAX_ROUNDS)")
    parser.add_argument("--only", default="",
                        help=f"comma-separated scenarios (default all: {','.join(SCENARIOS)})")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for the JSON/markdown/PNG (default benchmarks/results)")
    parser.add_argument("--adk-version", default=ADK_VERSION,
                        help="google-adk version for the virtualenv (default %(default)s)")
    parser.add_argument("--adk-python", default=None,
                        help="use this interpreter (with google-adk) instead of the venv")
    args = parser.parse_args(argv)
    args.size = "quick" if args.quick else "full"
    selected = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = sorted(set(selected) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    args.selected = [s for s in SCENARIOS if s in selected]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    adk = ensure_adk(args)
    print(f"google-adk: {adk.version if adk.python else adk.reason}", flush=True)
    modules = {name: importlib.import_module(f"scenarios.{name}") for name in args.selected}
    scenarios: dict[str, dict[str, Any]] = {}
    with contextlib.ExitStack() as stack:
        # The environment of each kind of scenario: no server, the plain one, the TLS one.
        plain = side_env({})
        servers: dict[str, dict[str, str]] = {}

        def needs(flag: str) -> bool:
            return any(getattr(m, flag, False) for m in modules.values())

        if needs("NEEDS_SERVER"):
            url = stack.enter_context(fake_server())
            servers["NEEDS_SERVER"] = side_env({"GOOGLE_GEMINI_BASE_URL": url,
                                                "GOOGLE_API_KEY": FAKE_KEY})
            print(f"fake Gemini server: {url}", flush=True)
        if needs("NEEDS_TLS_SERVER"):
            url, ca = stack.enter_context(fake_tls_server())
            servers["NEEDS_TLS_SERVER"] = side_env({"GOOGLE_GEMINI_BASE_URL": url,
                                                    "GOOGLE_API_KEY": FAKE_KEY,
                                                    "SSL_CERT_FILE": str(ca)})
            print(f"fake Gemini server over TLS (live audio echo): {url}", flush=True)
        for name, module in modules.items():
            env = next((e for flag, e in servers.items() if getattr(module, flag, False)),
                       plain)
            scenarios[name] = run_scenario(module, args, adk, env)
    size = args.size
    context = {name: {side: record["sides"].get(side, {}).get("median")
                      for side in ("trio", "adk", "floor")}
               for name, record in scenarios.items()}
    for name, record in scenarios.items():
        if record["status"] == "ran":
            built: list[Row] = modules[name].rows(context[name], modules[name].SIZES[size],
                                                  context)
            record["rows"] = [row.as_json() for row in built]

    machine = machine_info()
    versions = versions_info(adk)
    cells = table_rows(scenarios)
    print()
    print(f"trio-adk vs google-adk ({size} sizes; {machine['summary']}; google-adk "
          f"{adk.version or adk.reason})")
    print_table(cells)
    all_rows = [row for record in scenarios.values() for row in record.get("rows", [])
                if row["checks"]]
    summary = {verdict: sum(1 for row in all_rows if row["met"] is value)
               for verdict, value in (("met", True), ("missed", False), ("not_judged", None))}
    print(LEGEND)
    print(f"targets: {summary['met']} met, {summary['missed']} missed, "
          f"{summary['not_judged']} not judged (n/j)")

    out_dir = args.out or RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "compare-quick" if args.quick else "compare"
    document = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])],
        "size": size,
        "rounds": {name: record.get("rounds") for name, record in scenarios.items()},
        "seconds": time.perf_counter() - began,
        "machine": machine, "versions": versions,
        "adk": {"status": "ok" if adk.python else "skipped", "reason": adk.reason,
                "version": adk.version, "pinned": args.adk_version},
        "summary": summary, "scenarios": scenarios,
    }
    (out_dir / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    (out_dir / f"{stem}.md").write_text(markdown(cells, machine, versions, args, scenarios))
    written = [f"{stem}.json", f"{stem}.md"]
    if not args.quick:
        title = f"trio-adk vs google-adk {adk.version or '(skipped)'}: {machine['summary']}"
        if chart(scenarios, out_dir / f"{stem}.png", title):
            written.append(f"{stem}.png")
        else:
            print("no chart: matplotlib is not installed (pip install -e '.[bench]')")
    print(f"wrote {', '.join(str(out_dir / name) for name in written)} "
          f"in {time.perf_counter() - began:.0f} s")
    failed = [f"{name}/{side}" for name, record in scenarios.items()
              for side, figures in record.get("sides", {}).items()
              if figures.get("status", "").startswith("error")]
    if failed:
        print(f"sides that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

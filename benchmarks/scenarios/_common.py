"""Shared helpers for the side-by-side scenarios: the command line every scenario module
answers to, process measurements (RSS, open sockets), the framework-neutral measurement code
both sides share (sampling loops, quantiles, the model-call gauge) and the row/target
bookkeeping that ``benchmarks/compare.py`` prints.

Imports only the standard library at module level: the ADK side runs in a virtualenv that has
google-adk but neither trio nor trio-adk. The async helpers here only await what they are
given, so they run unchanged under trio (trio-adk side, floors) and asyncio (ADK side).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

Size = Mapping[str, int]
"""The knobs of one scenario at one size (``quick`` or ``full``)."""

SideResult = dict[str, Any]
"""What one side prints: a flat JSON object of numbers (and a few labels)."""

SideFunction = Callable[[Size], SideResult]

Medians = Mapping[str, SideResult | None]
"""One scenario's median figures per side (``trio``, ``adk``, ``floor``; None: did not run)."""

Context = Mapping[str, Medians]
"""Every scenario's medians, by scenario name (a floor may use another scenario's figure)."""

Conversation = Callable[[str], Awaitable[None]]
"""Something a side does with one session, given the session's id."""

AllAtOnce = Callable[[Conversation, list[str]], Awaitable[None]]
"""``all_at_once(each, ids)``: a side's way of running ``each(id)`` for every id concurrently
until all are done (a trio nursery, ``asyncio.gather``); the framework-specific part of a
concurrent figure."""

T = TypeVar("T")

SIDES = ("trio", "adk", "floor")
TOOL_SLEEP = 0.05  # seconds each tool of the tools scenario sleeps


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank, 0 <= q <= 1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms_quantiles(seconds: list[float], prefix: str = "") -> dict[str, float]:
    """``{prefix}p50_ms`` and ``{prefix}p99_ms``: the median and p99 of durations given in
    seconds, in milliseconds."""
    return {f"{prefix}p50_ms": pct(seconds, 0.5) * 1e3,
            f"{prefix}p99_ms": pct(seconds, 0.99) * 1e3}


async def sample_runs(one_run: Callable[[str], Awaitable[T]], size: Size) -> list[T]:
    """``size["warmup"]`` unmeasured runs (session ids ``w0``, ``w1``, ...), then the results of
    ``size["runs"]`` measured ones (``s0``, ``s1``, ...), one after another."""
    for i in range(size["warmup"]):
        await one_run(f"w{i}")
    return [await one_run(f"s{i}") for i in range(size["runs"])]


class Event(Protocol):
    """What :class:`Gauge` needs of an event: ``trio.Event`` and ``asyncio.Event`` both fit."""

    def set(self) -> None: ...

    def wait(self) -> Awaitable[object]: ...


class Gauge:
    """Counts model calls that started and model calls whose cleanup finished, and sets an
    event when each count reaches ``expected``. ``new_event`` is the side's event class."""

    def __init__(self, expected: int, new_event: Callable[[], Event]) -> None:
        self.expected = expected
        self.entered = 0
        self.cleaned = 0
        self.all_entered = new_event()
        self.all_cleaned = new_event()

    def call_started(self) -> None:
        self.entered += 1
        if self.entered == self.expected:
            self.all_entered.set()

    def cleanup_done(self) -> None:
        self.cleaned += 1
        if self.cleaned == self.expected:
            self.all_cleaned.set()


def peak_rss_mib() -> float:
    """The process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mib() -> float:
    """The process's resident set size now, in MiB (the peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return peak_rss_mib()
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def open_sockets() -> int | None:
    """How many sockets the process holds open (None when it cannot be told)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return _psutil_sockets()
    return sum(1 for name in names if _fd_target(name).startswith("socket:"))


def _fd_target(name: str) -> str:
    """What file descriptor ``name`` of this process points at ("" if it closed meanwhile)."""
    try:
        return os.readlink(f"/proc/self/fd/{name}")
    except OSError:
        return ""


def _psutil_sockets() -> int | None:
    try:
        import psutil  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return None
    return len(psutil.Process().net_connections(kind="all"))


# ---- rows of the comparison table -------------------------------------------------------

@dataclass
class Row:
    """One line of the comparison table.

    ``lower_is_better`` says which way the numbers point (times, memory: lower). The ratio
    printed is always "how many times better trio-adk is than google-adk" (adk / trio for
    lower-is-better figures), so above 1 means trio-adk wins. ``checks`` holds the target's
    parts, each True (met), False (missed) or None (cannot be judged in this run, for
    example without google-adk).
    """

    metric: str
    unit: str
    trio: float | None
    adk: float | None
    floor: float | None = None
    target: str = ""
    checks: list[bool | None] = field(default_factory=list)
    lower_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        """How many times better trio-adk is than google-adk (None without both, or when
        either is not positive, as an added latency below its floor can be)."""
        if self.trio is None or self.adk is None or self.trio <= 0 or self.adk <= 0:
            return None
        return self.adk / self.trio if self.lower_is_better else self.trio / self.adk

    @property
    def met(self) -> bool | None:
        """False if any part of the target was missed, None if a part could not be judged
        (and none was missed), True if all were met; None without a target."""
        if not self.checks:
            return None
        if any(check is False for check in self.checks):
            return False
        return None if any(check is None for check in self.checks) else True

    def as_json(self) -> dict[str, Any]:
        """The row with its derived ratio and verdict."""
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def at_most(value: float | None, limit: float | None) -> bool | None:
    """``value <= limit``, or None when either is unknown."""
    if value is None or limit is None:
        return None
    return value <= limit


def at_least(value: float | None, limit: float | None) -> bool | None:
    """``value >= limit``, or None when either is unknown."""
    if value is None or limit is None:
        return None
    return value >= limit


def scaled(value: float | None, factor: float) -> float | None:
    """``value * factor``, None stays None."""
    return None if value is None else value * factor


def get(figures: Mapping[str, Any] | None, key: str) -> float | None:
    """A number from one side's (median) figures, None when that side did not run."""
    if figures is None:
        return None
    value = figures.get(key)
    return float(value) if isinstance(value, int | float) else None


# ---- the command line of a scenario module ----------------------------------------------

def cli(sizes: Mapping[str, Size], sides: Mapping[str, SideFunction | None]) -> None:
    """``python -m scenarios.<name> --side trio|adk|floor --size quick|full``: run one side
    in this (fresh) process and print its figures as the last line of stdout, as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=SIDES, required=True)
    parser.add_argument("--size", choices=sorted(sizes), default="full")
    args = parser.parse_args()
    side = sides.get(args.side)
    if side is None:
        raise SystemExit(f"this scenario has no {args.side} side")
    result = side(sizes[args.size])
    result.setdefault("peak_rss_mib", peak_rss_mib())
    print(json.dumps(result), flush=True)

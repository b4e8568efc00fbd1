"""Live mode latency and load: run_live against the fake Gemini Live server on loopback.

(a) Frame to echo: the time from ``LiveRequestQueue.send_realtime`` of one 20 ms audio
    frame (640 bytes of 16 kHz PCM) to the event carrying its echo, p50/p99, beside the
    floor measured in the same run: the same frame sent as the same JSON message over a
    bare trio-websocket connection to the same server, timed until its echo is parsed.
    Runner and floor alternate in blocks so machine noise hits both.
(b) Load: N concurrent live runs (default 100), each streaming 50 frames per second for
    T seconds (default 10): frames lost (sent but never echoed), p50/p99 lag (send to echo
    event), client CPU per stream (percent of one core) and memory per live run (RSS growth
    while all runs are open, divided by N).

The fake server runs in its own process (``python -m trio_adk.testing.fake_gemini
--echo-audio``), so its CPU is not counted in the client's.

    python benchmarks/live_latency.py [--samples 3000] [--streams 100] [--seconds 10] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import resource
import statistics
import struct
import subprocess
import sys
import time
from contextlib import aclosing
from pathlib import Path
from typing import Any

import trio
import trio_websocket
from google.genai import types

from trio_adk import Agent, Runner
from trio_adk.agents import LiveRequestQueue, RunConfig
from trio_adk.models import Gemini
from trio_adk.models._gemini_live import live_url
from trio_adk.sessions import InMemorySessionService

MODEL = "gemini-2.0-flash-live-001"
MIME = "audio/pcm;rate=16000"
FRAME_BYTES = 640  # 20 ms of 16-bit mono PCM at 16 kHz
BLOCK = 250  # samples per alternating block
# The echo server never completes a turn, so a closing run need not wait for one.
BENCH_CONFIG = RunConfig(response_modalities=["AUDIO"], live_drain_timeout=0.0)


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The fake Gemini server (echoing live audio) in a subprocess, and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "trio_adk.testing.fake_gemini", "--port", "0", "--echo-audio"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError(f"fake server did not start: {url!r}")
    return proc, url


def frame(stream: int, seq: int) -> bytes:
    """A frame whose first 8 bytes say which stream and sequence number it is."""
    return struct.pack("<II", stream, seq) + bytes(FRAME_BYTES - 8)


def frame_id(data: bytes) -> tuple[int, int]:
    stream, seq = struct.unpack_from("<II", data)
    return stream, seq


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mib() -> float:
    """Current resident set size (Linux /proc; else peak RSS)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of another process, from Linux /proc; None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def new_runner(base_url: str) -> Runner:
    model = Gemini(model=MODEL, base_url=base_url, api_key="bench")
    agent = Agent(name="voice", model=model, instruction="Echo.")
    return Runner(app_name="live_bench", agent=agent, session_service=InMemorySessionService(),
                  auto_create_session=True)


def audio_ids(event: Any) -> list[tuple[int, int]]:
    if event.content is None or not event.content.parts:
        return []
    return [frame_id(p.inline_data.data) for p in event.content.parts
            if p.inline_data is not None and p.inline_data.data]


# ---- (a) frame-to-echo latency -------------------------------------------------------------


class RunnerPing:
    """One open live run; ``ping()`` sends a frame and waits for the event carrying it."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.queue = LiveRequestQueue()
        self.waiting: dict[int, trio.Event] = {}
        self.arrived: dict[int, float] = {}
        self.seq = 0

    async def consume(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                      ) -> None:
        events = self.runner.run_live(user_id="u", session_id="latency",
                                      live_request_queue=self.queue,
                                      run_config=BENCH_CONFIG)
        task_status.started()
        async with aclosing(events) as stream:
            async for event in stream:
                now = time.perf_counter()  # the moment the consumer has the event
                for _, seq in audio_ids(event):
                    done = self.waiting.pop(seq, None)
                    if done is not None:
                        self.arrived[seq] = now
                        done.set()

    async def ping(self) -> float:
        self.seq += 1
        done = self.waiting[self.seq] = trio.Event()
        blob = types.Blob(data=frame(0, self.seq), mime_type=MIME)
        start = time.perf_counter()
        self.queue.send_realtime(blob)
        await done.wait()
        return self.arrived.pop(self.seq) - start


class RawPing:
    """The floor: the same message over a bare trio-websocket connection."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws
        self.seq = 0

    async def ping(self) -> float:
        self.seq += 1
        data = base64.b64encode(frame(0, self.seq)).decode("ascii")
        start = time.perf_counter()
        await self.ws.send_message(json.dumps({"realtimeInput": {"audio": {
            "data": data, "mimeType": MIME}}}))
        while True:
            reply = json.loads(await self.ws.get_message())
            parts = reply.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
            if any(frame_id(base64.b64decode(p["inlineData"]["data"]))[1] == self.seq
                   for p in parts if "inlineData" in p):
                return time.perf_counter() - start


async def latency(base_url: str, samples: int) -> dict[str, Any]:
    runner_times: list[float] = []
    raw_times: list[float] = []
    runner = new_runner(base_url)
    url = live_url(base_url)
    async with trio.open_nursery() as nursery:
        ping = RunnerPing(runner)
        await nursery.start(ping.consume)
        async with trio_websocket.open_websocket_url(
                url, extra_headers=[(b"x-goog-api-key", b"bench")],
                message_queue_size=64) as ws:
            await ws.send_message(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
            await ws.get_message()  # setupComplete
            raw = RawPing(ws)
            for _ in range(20):  # warm both paths up
                await ping.ping()
                await raw.ping()
            while len(runner_times) < samples:
                for _ in range(min(BLOCK, samples - len(runner_times))):
                    runner_times.append(await ping.ping())
                for _ in range(min(BLOCK, samples - len(raw_times))):
                    raw_times.append(await raw.ping())
        ping.queue.close()
    await runner.close()
    figures: dict[str, Any] = {"samples": samples}
    for name, values in (("run_live", runner_times), ("raw_websocket", raw_times)):
        figures[name] = {"p50_us": pct(values, 0.50) * 1e6, "p99_us": pct(values, 0.99) * 1e6,
                         "mean_us": statistics.fmean(values) * 1e6}
    figures["added_p50_us"] = figures["run_live"]["p50_us"] - figures["raw_websocket"]["p50_us"]
    figures["added_p99_us"] = figures["run_live"]["p99_us"] - figures["raw_websocket"]["p99_us"]
    return figures


# ---- (b) many concurrent streams ---------------------------------------------------------


async def load(base_url: str, streams: int, seconds: float, server_pid: int
               ) -> dict[str, Any]:
    runner = new_runner(base_url)
    frames = int(seconds * 50)
    sent: list[dict[int, float]] = [{} for _ in range(streams)]
    lags: list[float] = []
    received = [0] * streams
    all_echoed = [trio.Event() for _ in range(streams)]
    opened = [trio.Event() for _ in range(streams)]
    duplicates = 0

    async def one(index: int, start_at: float) -> None:
        nonlocal duplicates
        queue = LiveRequestQueue()

        async def produce() -> None:
            await opened[index].wait()
            await trio.sleep_until(start_at)
            for seq in range(frames):
                await trio.sleep_until(start_at + seq * 0.02)
                sent[index][seq] = time.perf_counter()
                queue.send_realtime(types.Blob(data=frame(index, seq), mime_type=MIME))
            with trio.move_on_after(5):
                await all_echoed[index].wait()
            queue.close()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            events = runner.run_live(user_id="u", session_id=f"load-{index}",
                                     live_request_queue=queue,
                                     run_config=BENCH_CONFIG)
            async with aclosing(events) as stream:
                opened[index].set()
                async for event in stream:
                    now = time.perf_counter()
                    for stream_id, seq in audio_ids(event):
                        at = sent[stream_id].pop(seq, None)
                        if at is None:
                            duplicates += 1
                            continue
                        lags.append(now - at)
                        received[index] += 1
                        if received[index] == frames:
                            all_echoed[index].set()

    rss_before = rss_mib()
    server_before = process_cpu_seconds(server_pid)
    cpu_before = time.process_time()
    wall_before = time.perf_counter()
    start_at = trio.current_time() + 1.0 + streams * 0.01  # time to open every connection
    rss_open = 0.0

    async def sample_rss() -> None:
        nonlocal rss_open
        await trio.sleep_until(start_at + seconds / 2)
        rss_open = rss_mib()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sample_rss)
        for index in range(streams):
            nursery.start_soon(one, index, start_at)
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    server_after = process_cpu_seconds(server_pid)
    server_cpu = None if server_before is None or server_after is None else \
        100 * (server_after - server_before) / wall
    await runner.close()
    lost = sum(len(pending) for pending in sent)
    return {
        "streams": streams, "seconds": seconds, "frames_per_stream": frames,
        "frames_sent": streams * frames, "frames_lost": lost, "duplicates": duplicates,
        "lag_p50_ms": pct(lags, 0.50) * 1e3 if lags else None,
        "lag_p99_ms": pct(lags, 0.99) * 1e3 if lags else None,
        "cpu_percent_per_stream": 100 * cpu / wall / streams,
        "cpu_percent_total": 100 * cpu / wall,
        "server_cpu_percent": server_cpu,
        "rss_mib_per_run": (rss_open - rss_before) / streams,
    }


# ---- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for CI)")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default results/live_latency.json; "
                             "--quick writes nothing unless given)")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.streams, args.seconds = 100, 5, 1.0
    proc, base_url = start_server()
    try:
        lat = trio.run(latency, base_url, args.samples)
        ld = trio.run(load, base_url, args.streams, args.seconds, proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"live latency, {platform.python_implementation()} {platform.python_version()}, "
          f"trio {trio.__version__}, {os.cpu_count()} cpus, fake server in its own process")
    print(f"(a) send_realtime(20 ms frame) -> echo event, {lat['samples']} samples each")
    print(f"    {'path':<26}{'p50 us':>10}{'p99 us':>10}{'mean us':>10}")
    for name in ("run_live", "raw_websocket"):
        f = lat[name]
        print(f"    {name:<26}{f['p50_us']:>10.0f}{f['p99_us']:>10.0f}{f['mean_us']:>10.0f}")
    print(f"    runner adds {lat['added_p50_us']:.0f} us at p50 (target < 100) and "
          f"{lat['added_p99_us']:.0f} us at p99 (target < 300)")
    print(f"(b) {ld['streams']} live runs x 50 frames/s x {ld['seconds']:g} s "
          f"({ld['frames_sent']} frames)")
    print(f"    frames lost {ld['frames_lost']} (target 0), duplicates {ld['duplicates']}, "
          f"lag p50 {ld['lag_p50_ms']:.2f} ms, p99 {ld['lag_p99_ms']:.2f} ms")
    print(f"    client CPU {ld['cpu_percent_per_stream']:.2f}% of a core per stream "
          f"({ld['cpu_percent_total']:.0f}% total), memory {ld['rss_mib_per_run'] * 1024:.0f} "
          "KiB per live run")
    if ld["server_cpu_percent"] is not None:
        print(f"    fake server process CPU {ld['server_cpu_percent']:.0f}% of a core")
    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "platform": platform.platform()},
               "latency": lat, "load": ld}
    target = args.json or (None if args.quick else
                           Path(__file__).parent / "results" / "live_latency.json")
    if target is not None:
        target.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""How long decoding one stored event takes: JSON parsing, the generic decode and the
fast one, side by side in one process.

    .venv/bin/python benchmarks/decode_events.py            # 5,000 events of each kind
    .venv/bin/python benchmarks/decode_events.py --quick    # 300

The documents are what the SQLite service stores (``event_document``, compact JSON):

* **text**: a text reply with a one-key state delta (``sessions_sqlite.py``'s event);
* **tools**: alternately a function call (with usage metadata and a long-running id)
  and its function response (with a state and an artifact delta).

Figures, in µs per event, best of ``--repeat`` passes over all the events (the figures
take turns):

* ``json.loads``: the stdlib's parser, as the services used to call it;
* ``parse_document``: the parser the services use now (the stdlib's scanner without
  ``json.loads``' wrapper; the same result and the same errors);
* ``generic decode``: ``json.loads``, then the generic per-field plans with the attrs
  ``__init__`` (``_serde.load_generic``): the decode as it was;
* ``fast decode``: what the SQLite service runs per row now (``parse_document``, then
  ``event_from_document`` through the generated builders);
* the same two, **kept**: every decoded event is kept, as a session load keeps them, with
  the garbage collector running (what a first load pays; noisier).

The ratio column is the generic decode's time divided by the row's.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from google.genai import types

from trio_adk._utils import _serde
from trio_adk.events import Event, EventActions
from trio_adk.sessions._storage import _documents
from trio_adk.sessions._storage._documents import event_document, event_from_document


def _text_event(i: int) -> Event:
    text = f"Event {i}: " + "a reasonably ordinary sentence of model output. " * 2
    return Event(author="agent", invocation_id=f"inv-{i // 10}",
                 content=types.Content(role="model", parts=[types.Part(text=text)]),
                 actions=EventActions(state_delta={"counter": i}))


def _tool_event(i: int) -> Event:
    if i % 2 == 0:
        call = types.FunctionCall(id=f"call-{i}", name="lookup", args={"query": f"q{i}"})
        return Event(author="agent", invocation_id=f"inv-{i // 10}",
                     content=types.Content(role="model",
                                           parts=[types.Part(function_call=call)]),
                     long_running_tool_ids={f"call-{i}"},
                     usage_metadata=types.GenerateContentResponseUsageMetadata(
                         prompt_token_count=120 + i, candidates_token_count=12,
                         total_token_count=132 + i))
    response = types.FunctionResponse(id=f"call-{i - 1}", name="lookup",
                                      response={"result": f"answer {i}", "rows": [1, 2, 3]})
    return Event(author="agent", invocation_id=f"inv-{i // 10}",
                 content=types.Content(role="user",
                                       parts=[types.Part(function_response=response)]),
                 actions=EventActions(state_delta={"last": f"q{i}"},
                                      artifact_delta={"report.txt": i}))


KINDS: dict[str, Callable[[int], Event]] = {"text": _text_event, "tools": _tool_event}


def _texts(kind: str, n: int) -> list[str]:
    make = KINDS[kind]
    return [json.dumps(event_document(make(i)), separators=(",", ":"), ensure_ascii=False)
            for i in range(n)]


def _generic(text: str) -> Event:
    load = getattr(_serde, "load_generic", _serde.load)  # before the fast builders: load
    return load(Event, dict(json.loads(text)))


def _fast(text: str) -> Event:
    parse = getattr(_documents, "parse_document", json.loads)
    return event_from_document(parse(text))


def _time(texts: list[str], decode: Callable[[str], Any], keep: bool) -> float:
    """One pass over ``texts``, in µs per text."""
    gc.collect()
    start = time.perf_counter()
    if keep:
        kept = [decode(t) for t in texts]
    else:
        for t in texts:
            decode(t)
    elapsed = time.perf_counter() - start
    if keep:
        del kept
    return elapsed / len(texts) * 1e6


def _figures(texts: list[str], repeat: int) -> dict[str, float]:
    """Each figure's best pass; the figures take turns, so that a busy moment on the
    machine does not fall on one of them only."""
    parse = getattr(_documents, "parse_document", json.loads)
    runs: dict[str, tuple[Callable[[str], Any], bool]] = {
        "json.loads": (json.loads, False),
        "parse_document": (parse, False),
        "generic decode": (_generic, False),
        "fast decode": (_fast, False),
        "generic decode, kept": (_generic, True),
        "fast decode, kept": (_fast, True),
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for figure, (decode, keep) in runs.items():
            best[figure] = min(best[figure], _time(texts, decode, keep))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 events of each kind")
    parser.add_argument("--repeat", type=int, default=15, help="passes; the best counts")
    args = parser.parse_args()
    n = 300 if args.quick else 5_000
    results: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        texts = _texts(kind, n)
        for text in texts[:50]:  # the two decodes agree (the property tests check more)
            assert _fast(text).model_dump() == _generic(text).model_dump()
        results[kind] = _figures(texts, args.repeat)
    print(f"{n:,} stored events of each kind; µs per event (best of {args.repeat}); "
          "ratio = generic decode / row")
    print()
    print(f"| {'figure':22} | " + " | ".join(f"{k:>7} | {'ratio':>5}" for k in KINDS) + " |")
    print(f"|{'-' * 24}|" + "|".join(f"{'-' * 8}:|{'-' * 6}:" for _ in KINDS) + "|")
    for figure in results["text"]:
        cells = []
        for kind in KINDS:
            us = results[kind][figure]
            base = results[kind]["generic decode" + (", kept" if "kept" in figure else "")]
            cells.append(f"{us:7.2f} | {base / us:4.1f}x")
        print(f"| {figure:22} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

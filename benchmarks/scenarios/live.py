"""live: ``run_live`` against the fake Gemini server: frame-to-echo latency p50/p99.

NOT IMPLEMENTED YET: it lands once ``Runner.run_live`` exists. ``compare.py`` reports this
scenario as "skipped: not implemented yet" while ``IMPLEMENTED`` is False.

The plan, for whoever fills it in (keep the interface of the other scenario modules):

* ``NEEDS_TLS_SERVER = True``: the google-genai client always connects with ``wss://``, so
  ``compare.py`` must start the fake server with TLS and a throwaway self-signed certificate
  (``base_url`` becomes ``https://127.0.0.1:PORT`` for both frameworks; trust the certificate
  with ``SSL_CERT_FILE=<cert.pem>``; see /work/shared/gemini-wire.md section 6.4).
* ``trio_side``/``adk_side``: ``runner.run_live(...)`` with a ``LiveRequestQueue``; send a
  frame (text or a small audio blob) and time until the echo event arrives, ``frames`` times;
  report ``echo_p50_ms`` and ``echo_p99_ms``.
* ``floor``: a raw websocket round trip to the same server (trio-websocket), same frames.
* ``rows``: target "p99 added latency (p99 - floor p99) at most half of ADK's".
"""

from __future__ import annotations

from scenarios._common import Context, Medians, Row, SideResult, Size, cli

NAME = "live"
WHAT = "run_live, fake server over TLS: frame-to-echo p50/p99"
ADDED_SHARE = 0.5  # p99 added latency at most half of ADK's
TARGET = f"p99 added latency <= {ADDED_SHARE:g}x ADK's"
FLOOR = "raw websocket round trip"
IMPLEMENTED = False
SKIP_REASON = "not implemented yet (needs Runner.run_live)"
SIZES: dict[str, Size] = {
    "quick": {"frames": 5, "warmup": 2},
    "full": {"frames": 500, "warmup": 20},
}


def _not_yet(size: Size) -> SideResult:
    raise NotImplementedError(SKIP_REASON)


trio_side = adk_side = floor_side = _not_yet


def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    return []


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})

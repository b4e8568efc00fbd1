"""The ``trio-adk`` command line."""

from __future__ import annotations

import argparse
import sys

import trio


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``trio-adk`` and ``python -m trio_adk``."""
    parser = argparse.ArgumentParser(prog="trio-adk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the multi-agent demo")
    demo.add_argument("--base-url", help="a Gemini-compatible server to talk to")
    demo.add_argument("--live", action="store_true",
                      help="a scripted voice conversation over the Live API (run_live)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from trio_adk._demo import run_demo
        from trio_adk._demo_live import run_live_demo

        demo_main = run_live_demo if args.live else run_demo
        try:
            trio.run(lambda: demo_main(sys.stdout, base_url=args.base_url))
        except KeyboardInterrupt:
            return 130
    return 0

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
    args = parser.parse_args(argv)
    if args.command == "demo":
        from trio_adk._demo import run_demo

        try:
            trio.run(lambda: run_demo(sys.stdout, base_url=args.base_url))
        except KeyboardInterrupt:
            return 130
    return 0

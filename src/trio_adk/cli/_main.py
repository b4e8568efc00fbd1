"""The ``trio-adk`` command group and the console script's entry point."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from trio_adk.cli._api_server_command import api_server
from trio_adk.cli._create_command import create
from trio_adk.cli._demo_command import demo
from trio_adk.cli._options import debug_option
from trio_adk.cli._run_command import run
from trio_adk.cli._running import EXIT_INTERRUPTED
from trio_adk.cli._web_command import web

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=_CONTEXT)
@click.version_option(package_name="trio-adk", prog_name="trio-adk",
                      message="%(prog)s %(version)s")
@debug_option
def cli() -> None:
    """A trio-native engine for AI agents that speaks the Runner API of Google's ADK.

    \b
    Exit status:
      0    done
      1    an error (one line on stderr; --debug adds the traceback)
      2    wrong usage
      130  interrupted (Ctrl-C), after cleaning up
      143  terminated (SIGTERM), after cleaning up
    """


cli.add_command(api_server)
cli.add_command(create)
cli.add_command(demo)
cli.add_command(run)
cli.add_command(web)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``trio-adk`` with ``argv`` (default: the process's arguments); return the exit status.

    The entry point of the ``trio-adk`` console script and of ``python -m trio_adk``.  Call it
    from the main thread (Ctrl-C and SIGTERM are only handled there) and outside any event loop.
    """
    try:
        status = cli.main(args=None if argv is None else list(argv), prog_name="trio-adk",
                          standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:  # Ctrl-C or end of input outside a command's trio run
        sys.stderr.write("Interrupted.\n")
        return EXIT_INTERRUPTED
    return status if isinstance(status, int) else 0

"""The ``trio-adk`` command line, written with click.

:func:`main` is the entry point of the ``trio-adk`` console script and of
``python -m trio_adk``; ``trio-adk --help`` lists the commands and the exit statuses.
"""

from trio_adk.cli._main import main as main

__all__ = ["main"]

"""Options every ``trio-adk`` command shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])

_DEBUG_KEY = "trio_adk.debug"


def _remember_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_DEBUG_KEY] = True


def debug_option(command: F) -> F:
    """``--debug``: show the full traceback when a command fails.

    Accepted both before and after the command's name (``trio-adk --debug demo`` and
    ``trio-adk demo --debug``); read it with :func:`debug_enabled`.
    """
    option = click.option("--debug", is_flag=True, expose_value=False, callback=_remember_debug,
                          help="On an error, print the full traceback too.")
    return option(command)


def debug_enabled(ctx: click.Context) -> bool:
    """Whether ``--debug`` was given to this command or to ``trio-adk`` itself."""
    return bool(ctx.meta.get(_DEBUG_KEY, False))

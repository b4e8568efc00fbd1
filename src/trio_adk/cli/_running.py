"""Running a command's async body under ``trio.run``: signals, errors and exit statuses.

Exit statuses of every ``trio-adk`` command:

* 0: done;
* 1: an error (one line on stderr; ``--debug`` adds the traceback), or the reader of our
  output went away (a broken pipe, silently);
* 2: a usage error (reported by click);
* 130: interrupted by SIGINT (Ctrl-C), after cleaning up;
* 143: terminated by SIGTERM, after cleaning up.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable

import attrs
import trio

from trio_adk.cli._errors import ModelServer, api_keys, describe, leaf_that_matters, leaves, redact

EXIT_OK = 0
EXIT_ERROR = 1
_SIGNALS = {signal.SIGINT: "Interrupted.", signal.SIGTERM: "Terminated."}


def exit_status(signum: int) -> int:
    """The shell's convention for a process ended by signal ``signum``: 128 + its number."""
    return 128 + signum


EXIT_INTERRUPTED = exit_status(signal.SIGINT)


@attrs.define
class _Stop:
    """The signal that asked the command to stop, once one arrived."""

    signum: int | None = None


async def _watch_signals(signals: AsyncIterator[int], command_scope: trio.CancelScope,
                         stop: _Stop) -> None:
    """Cancel ``command_scope`` on the first signal; end the process on the second.

    The second signal is for a clean-up that hangs: nothing inside trio can break a nursery
    that waits for a stuck task, so it flushes the output and leaves with ``os._exit``.
    """
    async for signum in signals:
        if stop.signum is None:
            stop.signum = signum
            command_scope.cancel()
            continue
        _say(f"{_SIGNALS[signal.Signals(signum)]} Leaving without finishing the clean-up.")
        os._exit(exit_status(signum))


async def _supervise(command: Callable[[], Awaitable[None]], stop: _Stop) -> None:
    if threading.current_thread() is not threading.main_thread():
        await command()  # signals can only be caught in the main thread
        return
    with trio.open_signal_receiver(*_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:
            command_scope = trio.CancelScope()
            nursery.start_soon(_watch_signals, signals, command_scope, stop)
            try:
                with command_scope:
                    await command()
            finally:
                nursery.cancel_scope.cancel()  # the signal watcher


def _say(line: str) -> None:
    """Write ``line`` (redacted) to stderr, after what the command printed to stdout."""
    for stream, text in ((sys.stdout, ""), (sys.stderr, redact(line, api_keys()) + "\n")):
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing more to say
            pass


def _silence_stdout() -> None:
    """Point stdout at the null device, so that flushing it at exit raises nothing."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_command(command: Callable[[], Awaitable[None]], *, server: ModelServer,
                debug: bool = False) -> int:
    """Run ``command()`` in a new trio run and return the command's exit status.

    Signals (watched only when called from the main thread): the first SIGINT or SIGTERM
    cancels ``command``, so its ``async with`` blocks close what they opened (a runner, a
    server) the way any cancellation does; then "Interrupted." or "Terminated." goes to stderr
    and the status is 130 or 143.  A second signal during that clean-up ends the process at
    once (``os._exit``, same statuses): the way out of a clean-up that hangs.

    Errors: one line on stderr, ``trio-adk: error: <what went wrong>. <what to do>``, worded
    for ``server`` (see :func:`~trio_adk.cli._errors.describe`), and status 1; with ``debug``
    the full traceback, exception groups included, is printed before it.  API keys from the
    environment are replaced by ``<redacted>`` in both.  A broken pipe on stdout (the reader
    went away, as with ``| head``) ends the command quietly with status 1.

    Must not be called from inside a trio run.
    """
    stop = _Stop()
    try:
        trio.run(_supervise, command, stop)
    except BaseException as exc:  # everything that ended the run is reported here
        found = leaves(exc)
        if stop.signum is None and any(isinstance(leaf, KeyboardInterrupt) for leaf in found):
            stop.signum = signal.SIGINT
        if stop.signum is not None:
            if debug:
                _say("".join(traceback.format_exception(exc)).rstrip())
            _say(_SIGNALS[signal.Signals(stop.signum)])
            return exit_status(stop.signum)
        if not any(isinstance(leaf, Exception) for leaf in found):
            raise  # SystemExit and friends: not errors to translate
        if isinstance(leaf_that_matters(exc), BrokenPipeError):
            _silence_stdout()
            return EXIT_ERROR
        if debug:
            _say("".join(traceback.format_exception(exc)).rstrip())
        _say(f"trio-adk: error: {describe(exc, server)}")
        return EXIT_ERROR
    if stop.signum is not None:
        _say(_SIGNALS[signal.Signals(stop.signum)])
        return exit_status(stop.signum)
    return EXIT_OK

"""The retry policy of the HTTP model clients (Gemini, Claude, LiteLlm): when a failed
attempt is followed by another, and how long to wait for it, on trio's clock.

The semantics are those of the clients' ``retry_attempts``, ``retry_initial_delay`` and
``retry_max_delay`` fields:

* at most ``attempts`` attempts in all (``attempts - 1`` retries), and only after a failure
  the client calls retryable;
* before attempt ``n + 1`` the policy waits the delay the server asked for (``RetryInfo``,
  ``retry-after``) when there is one, else ``min(max_delay, initial_delay * 2 ** (n - 1))``
  scaled by a random factor in ``[0.5, 1]`` (jitter);
* a server delay longer than ``max_delay`` is not waited out: no retry, and the error gets
  a note naming the delay, since retrying sooner than asked would fail again.

Cancellation: the wait is a plain ``trio.sleep``, so a cancelled caller gets
``trio.Cancelled`` from it at once and no further attempt is made.  The policy never
catches, retries or shields cancellation.
"""

from __future__ import annotations

import logging
import random

import attrs
import httpx
import trio
from google.genai import errors as genai_errors

#: HTTP statuses worth another attempt: timeouts, rate limits, server errors.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def retryable_http_error(exc: BaseException) -> bool:
    """True for a transport error or an API error with a :data:`RETRYABLE_STATUS`."""
    return isinstance(exc, httpx.TransportError) or (
        isinstance(exc, genai_errors.APIError) and exc.code in RETRYABLE_STATUS)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and after how long a client retries a failed attempt.

    ``service`` names who asked for a delay in the note on an error whose server delay is
    too long (``"Gemini"``, ``"Claude"``, ``"The server"``).
    """

    attempts: int
    initial_delay: float
    max_delay: float
    service: str

    def backoff(self, attempt: int) -> float:
        """The jittered delay after failed attempt ``attempt`` (1-based) when the server
        asked for none: the exponential delay, capped at ``max_delay``, times a random
        factor in ``[0.5, 1]``."""
        growth: float = 2 ** (attempt - 1)
        base = min(self.max_delay, self.initial_delay * growth)
        return base * random.uniform(0.5, 1.0)

    async def wait_to_retry(self, error: BaseException, attempt: int, *, retryable: bool,
                            asked: float | None, log: logging.Logger, caller: str,
                            reason: str) -> bool:
        """After failed attempt ``attempt`` (1-based): wait, then return True when another
        attempt should follow; return False at once when the caller should raise ``error``.

        False when the failure is not ``retryable``, when ``attempt`` was the last one, or
        when the server ``asked`` for a delay longer than ``max_delay`` (then ``error``
        gets a note saying so).  Otherwise the wait is ``asked`` or :meth:`backoff`, logged
        on ``log`` as ``"<caller> call failed (<reason>); retrying in ..."`` first.

        Cancellation: the wait is ``trio.sleep``; cancelling the caller raises
        ``trio.Cancelled`` out of it, and the caller makes no further attempt.
        """
        if not retryable or attempt >= self.attempts:
            return False
        if asked is not None and asked > self.max_delay:
            error.add_note(
                f"{self.service} asked to retry after {asked:g} s, longer than "
                f"retry_max_delay ({self.max_delay:g} s), so trio-adk did not wait: call "
                "again later, or raise retry_max_delay to let the model wait that long.")
            return False
        delay = self.backoff(attempt) if asked is None else asked
        log.info("%s call failed (%s); retrying in %.2f s (attempt %d of %d).", caller,
                 reason, delay, attempt + 1, self.attempts)
        await trio.sleep(delay)
        return True

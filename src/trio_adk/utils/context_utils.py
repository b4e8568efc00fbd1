"""ADK-compatible import path.

Re-exports for ``google.adk.utils.context_utils``: ``Aclosing`` is
``contextlib.aclosing``, which custom agents use to close the event streams of the
agents they run (``async with Aclosing(sub.run_async(ctx)) as events: ...``).
"""

from contextlib import aclosing as Aclosing

__all__ = ["Aclosing"]

"""Sessions in PostgreSQL, in google-adk's v1 tables (psycopg 3, sync, in worker threads).

* ``_url``: ADK-style database URLs read into libpq parameters (password kept out of
  every message).
* ``_pool``: a small connection pool usable from several trio runs, and the
  cancel-safe call (``cancel_safe()`` from a watcher task).
* ``_runner``: one call on a pooled connection, psycopg errors typed as
  ``StorageError``.
* ``_schema``: ADK's DDL, created idempotently under an advisory lock; layout checks.
* ``_service``: :class:`DatabaseSessionService`.
"""

from trio_adk.sessions._postgres._service import (
    DatabaseSessionService as DatabaseSessionService,
)

__all__ = ["DatabaseSessionService"]

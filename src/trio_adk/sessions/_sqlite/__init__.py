"""SqliteSessionService: the embedded durable session store (stdlib ``sqlite3``).

* ``_layout``: google-adk's two SQLite layouts (Sqlite-JSON, SQLAlchemy v1), how to
  detect them (and refuse the v0 pickle layout), and their time and JSON encodings.
* ``_database``: the connections, worker threads, cancellation and error mapping.
* ``_claims``: one run per session across processes (OS file locks).
* ``_service``: the service itself.
"""

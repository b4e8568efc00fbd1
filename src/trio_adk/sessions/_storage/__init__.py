"""What the durable session stores share, and the rules every store keeps.

* ``_documents``: ADK's stored-event documents (:func:`event_document`,
  :func:`event_from_document`) and state split by scope (:func:`split_state`,
  :func:`merge_state`).  Stores use these, never a codec of their own.
* ``_pages``: keyset page tokens for ``list_sessions`` (update time ascending, then
  user id, then session id; the token is the last listed session's key and the next
  page starts strictly after it, served by an index).
* ``_snapshots``: each service's recently loaded or appended sessions' events, with the
  stored revision they belong to, so a reload of an unchanged session reads no event
  row and one appended to elsewhere reads only the new rows (LRU, bounded by events).
  A store keeps it exact: the revision must change with every append through any
  service (ours or google-adk's), and whatever is not "the same rows plus rows after
  them" is read in full.  Events are changed only through the services' API (append,
  delete): rows edited by hand in place, without touching the session row, are not
  noticed until the session's next append.

Rules for a durable store (``BaseSessionService`` subclass):

* ``append_event``: partial events are not stored; ``temp:`` keys reach the caller's
  copy but never storage.  The durable write comes first, in one transaction; the
  caller's copy changes only once it committed, so a failed, stale or cancelled append
  leaves it as it was.
* Stale writers: every returned ``Session`` carries ``_storage_update_marker`` (the
  store's exact ``update_time``); an append compares it for equality (never order) in
  the write transaction and raises ``StaleSessionError`` on a mismatch.  A session built
  by hand (marker ``None``) falls back to comparing the last event id.
* Failures of the driver, network or disk raise ``StorageError`` (cause chained, no
  credentials in the message).
* ``_claim_elsewhere`` holds a session against other processes and hosts for a run,
  released by the system when the holder dies.
* A service may be called from several trio runs and threads at once (sync ``run()``
  has its own trio run): shared state uses threading locks, not one run's primitives.
"""

"""The scenarios of ``benchmarks/compare.py``, in the order of its table.

Each is a module here with ``NAME``, ``WHAT``, ``FLOOR`` (what the floor is), ``SIZES``
(``quick`` and ``full``), ``trio_side``/``adk_side``/``floor_side`` (``size -> figures``, run
in a fresh process by ``python -m scenarios.<name> --side trio|adk|floor --size quick|full``;
``floor_side`` is None where there is no floor) and ``rows(medians, size, context)`` building
its lines of the table. Optional: ``NEEDS_SERVER`` (the fake Gemini server's URL in
``GOOGLE_GEMINI_BASE_URL``), ``NEEDS_TLS_SERVER`` (a second fake server, over TLS with a
throwaway certificate that ``SSL_CERT_FILE`` trusts, echoing live audio), ``ROUNDS``
(rounds at full size when ``--rounds`` is not given) and ``MAX_ROUNDS`` (cap on rounds at
full size).
"""

SCENARIOS = ("overhead", "tools", "streaming", "live", "cancel", "scale", "history", "memory")

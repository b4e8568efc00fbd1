"""``python -m trio_adk``: the trio-adk command line."""

from trio_adk.cli import main

raise SystemExit(main())

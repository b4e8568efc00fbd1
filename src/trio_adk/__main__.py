"""``python -m trio_adk``: the trio-adk command line."""

from trio_adk._cli import main

raise SystemExit(main())

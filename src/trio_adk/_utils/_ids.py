"""Fast random ids in uuid4 format."""

from __future__ import annotations

import random

_VERSION_CLEAR = ~(0xF000 << 64) & ~(0xC000 << 48)
_VERSION_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uuid4() -> str:
    """A random id formatted as a version-4 UUID string.

    Uses the ``random`` module (reseeded after fork) instead of ``os.urandom``: ids
    must be unique, not secret, and this is about 5x faster on hot paths.
    """
    n = (random.getrandbits(128) & _VERSION_CLEAR) | _VERSION_SET
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

"""ADK's module path for :class:`DatabaseSessionService` (PostgreSQL; needs the
``postgres`` extra: ``pip install 'trio-adk[postgres]'``)."""

try:
    import psycopg  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "DatabaseSessionService needs psycopg 3, the 'postgres' extra: pip install "
        f"'trio-adk[postgres]' ({exc}).") from exc

from trio_adk.sessions._postgres import DatabaseSessionService as DatabaseSessionService

__all__ = ["DatabaseSessionService"]

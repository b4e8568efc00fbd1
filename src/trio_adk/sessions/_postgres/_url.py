"""Database URLs as ADK users write them, read into libpq connection parameters.

ADK hands its URL to SQLAlchemy, so users write ``postgresql+asyncpg://...`` (ADK asks
for an async driver) as often as ``postgresql://...``.  Every ``postgresql`` or
``postgres`` URL names the same server whatever its driver part, so the driver part is
ignored.  Query parameters are libpq's (``sslmode``, ``connect_timeout``, ``options``,
``host`` for a socket directory, ...) and are passed through; asyncpg's own spellings
are mapped where libpq has an equivalent and refused, naming the libpq one, where not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

_POSTGRES_SCHEMES = ("postgresql", "postgres")
_OTHER_BACKENDS = ("mysql", "mariadb", "spanner", "mssql", "oracle", "cockroachdb",
                   "bigquery", "snowflake", "duckdb")

# asyncpg's spellings of libpq settings.
_ASYNCPG_SSL = {
    "true": "require", "false": "disable", "disable": "disable", "allow": "allow",
    "prefer": "prefer", "require": "require", "verify-ca": "verify-ca",
    "verify-full": "verify-full",
}
_ASYNCPG_ONLY = {
    "server_settings": "pass settings with options='-c name=value'",
    "statement_cache_size": "psycopg prepares statements on its own; drop it",
    "max_cached_statement_lifetime": "psycopg prepares statements on its own; drop it",
    "max_cacheable_statement_size": "psycopg prepares statements on its own; drop it",
    "direct_tls": "use sslnegotiation=direct (libpq 17+)",
}


class UnsupportedDatabaseURLError(ValueError):
    """The database URL names a backend or a setting this service cannot use."""


@attrs.frozen(repr=False)
class PostgresTarget:
    """Where to connect: libpq keyword parameters, plus what to show instead of them.

    ``params`` holds the password (when the URL had one); ``describe`` never does, and
    :meth:`scrub` removes it from any text (an error message) that might quote it.
    """

    params: Mapping[str, str]
    describe: str
    prepare: bool = True

    def __repr__(self) -> str:
        return f"<PostgresTarget {self.describe}>"

    def scrub(self, text: str) -> str:
        """``text`` with the password (if any) replaced by ``***``."""
        password = self.params.get("password")
        if password:
            text = text.replace(password, "***")
        return text


def is_sqlite_url(db_url: str) -> bool:
    """True for ``sqlite://...`` and ``sqlite+driver://...`` URLs."""
    return _scheme(db_url).split("+", 1)[0] == "sqlite"


def parse_postgres_url(db_url: str, connect_args: Mapping[str, Any] | None = None
                       ) -> PostgresTarget:
    """Read a PostgreSQL URL into libpq parameters.

    Raises:
        UnsupportedDatabaseURLError: not a PostgreSQL URL, or a setting libpq lacks.
    """
    if not isinstance(db_url, str):
        raise TypeError(f"db_url must be a str such as 'postgresql://user@host/db', got "
                        f"{type(db_url).__name__}.")
    scheme = _scheme(db_url)
    backend = scheme.split("+", 1)[0]
    if backend not in _POSTGRES_SCHEMES:
        if backend in _OTHER_BACKENDS:
            what = f"{backend!r} databases are not supported yet"
        elif not scheme:
            what = "it has no scheme"
        else:
            what = f"the scheme {scheme!r} is not a database trio-adk knows"
        raise UnsupportedDatabaseURLError(
            f"DatabaseSessionService cannot use {_redact(db_url)}: {what}. Supported: "
            "PostgreSQL (postgresql://user:password@host:port/dbname, also written "
            "postgres://, postgresql+asyncpg://, postgresql+psycopg://), and SQLite files "
            "through SqliteSessionService (sqlite:///path/to/sessions.db).")
    try:
        parts = urlsplit(db_url)
        port = parts.port
    except ValueError as exc:
        raise UnsupportedDatabaseURLError(
            f"Database URL {_redact(db_url)} is malformed ({_scrub_url(str(exc), db_url)});"
            " write it as postgresql://user:password@host:port/dbname.") from None
    params: dict[str, str] = {}
    if parts.hostname:
        params["host"] = unquote(parts.hostname)
    if port is not None:
        params["port"] = str(port)
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password is not None:
        params["password"] = unquote(parts.password)
    dbname = unquote(parts.path.lstrip("/"))
    if dbname:
        params["dbname"] = dbname
    prepare = True
    query = parse_qsl(parts.query, keep_blank_values=True)
    extra = [(str(k), str(v)) for k, v in (connect_args or {}).items()]
    for key, value in [*query, *extra]:
        if key == "ssl":
            mode = _ASYNCPG_SSL.get(value.lower())
            if mode is None:
                raise UnsupportedDatabaseURLError(
                    f"Database URL {_redact(db_url)}: ssl={value!r} is not a mode libpq "
                    f"knows; use sslmode= one of {', '.join(sorted(set(_ASYNCPG_SSL.values())))}.")
            params["sslmode"] = mode
        elif key == "prepared_statement_cache_size":
            prepare = value.strip() not in ("0", "")
        elif key == "command_timeout":
            try:
                millis = int(float(value) * 1000)
            except ValueError:
                raise UnsupportedDatabaseURLError(
                    f"Database URL {_redact(db_url)}: command_timeout={value!r} is not a "
                    "number of seconds.") from None
            params["options"] = (params.get("options", "") +
                                 f" -c statement_timeout={millis}").strip()
        elif key in _ASYNCPG_ONLY:
            raise UnsupportedDatabaseURLError(
                f"Database URL {_redact(db_url)}: {key!r} is an asyncpg setting with no "
                f"libpq equivalent here; {_ASYNCPG_ONLY[key]}.")
        elif key == "password":
            params["password"] = value
        else:
            params[key] = value
    _check_libpq_keys(params, db_url)
    params.setdefault("connect_timeout", "10")
    params.setdefault("application_name", "trio-adk")
    return PostgresTarget(params=params, describe=_redact(db_url), prepare=prepare)


def _check_libpq_keys(params: Mapping[str, str], db_url: str) -> None:
    from psycopg.conninfo import make_conninfo

    try:
        make_conninfo("", **params)
    except Exception as exc:  # psycopg.ProgrammingError: invalid connection option "x"
        message = str(exc).replace(params.get("password") or "\0", "***")
        raise UnsupportedDatabaseURLError(
            f"Database URL {_redact(db_url)}: {message}. Query parameters are libpq "
            "connection settings (sslmode, connect_timeout, options, ...).") from None


def _scheme(db_url: str) -> str:
    head, sep, _ = db_url.partition("://")
    return head.lower() if sep else ""


def _scrub_url(text: str, db_url: str) -> str:
    try:
        password = urlsplit(db_url).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


def _redact(db_url: str) -> str:
    """The URL with its password and query values masked, quoted, for messages."""
    try:
        parts = urlsplit(db_url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
        query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
        text = f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    except ValueError:
        return "'<unparseable database URL>'"
    return repr(text)

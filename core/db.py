"""Database engine, sessions and start-up migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from core.config import get_settings
from core.errors import Unavailable
from core.mariadb_tls import SharedTLSConnection

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

_engine: Engine | None = None


def build_engine(url: str) -> Engine:
    """An engine tuned for the backend: SQLite (WAL, FK on) or MySQL/MariaDB (utf8mb4, pings)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    query = dict(parsed.query)
    query.setdefault("charset", "utf8mb4")
    engine = create_engine(
        parsed.set(query=query),
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_size=10,
        max_overflow=20,
        # Not InnoDB's REPEATABLE READ: its locking reads (the budget figures a send reads
        # under its user's lock) also lock the gaps next to the rows read, and other users'
        # reservations, ledger rows and replies are inserted into those gaps, so sends and
        # final saves of different users waited for each other (docs/performance.md,
        # "Scale-out"). Every check that needs a lock takes it explicitly (FOR UPDATE on the
        # budget rows, the turn lock), and each statement reads the latest committed rows.
        isolation_level="READ COMMITTED",
        connect_args={"local_infile": False, "connect_timeout": 5},
    )
    if parsed.get_driver_name() == "pymysql":

        @sa.event.listens_for(engine, "do_connect")
        def _connect(_dialect, _record, cargs, cparams):  # noqa: ANN001, ANN202
            return SharedTLSConnection(*cargs, **cparams)

    return engine


def get_engine() -> Engine:
    """The process-wide engine for the configured DATABASE_URL."""
    global _engine
    if _engine is None:
        _engine = build_engine(get_settings().resolved_database_url)
    return _engine


def reset_engine() -> None:
    """Dispose the engine (tests switch databases between runs)."""
    global _engine
    if _engine is not None:
        _engine.dispose()
    _engine = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error. Blocking: call off the loop."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except sa.exc.OperationalError as exc:
            # Pages and components catch the project's own error, never SQLAlchemy's.
            _rollback_quietly(session)
            raise Unavailable() from exc
        except BaseException:
            _rollback_quietly(session)
            raise


def _rollback_quietly(session: Session) -> None:
    """Roll back; a connection that is already gone must not hide the original error."""
    try:
        session.rollback()
    except sa.exc.SQLAlchemyError:
        log.debug("rollback failed after an error", exc_info=True)


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str | None = None) -> None:
    """Apply every migration up to head (run at start-up and by tests)."""
    url = url or get_settings().resolved_database_url
    log.info("Applying database migrations")
    command.upgrade(alembic_config(url), "head")


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, case-folded, with % _ and \\ taken literally.

    Use with `escape="\\"` and compare against a lower-cased column.
    """
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        with get_engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError:
        return False

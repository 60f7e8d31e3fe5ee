"""Engine and session factories, and the request-scoped session dependency."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from service.settings import Settings

AFTER_COMMIT_KEY = "after_commit"


def make_engine(settings: Settings) -> Engine:
    """Create the engine; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    url = settings.sqlalchemy_url()
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=settings.db.echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=settings.db.pool_size,
            max_overflow=settings.db.max_overflow,
        )
        busy_ms = settings.db.sqlite_busy_timeout_ms
        cache_mb = settings.db.sqlite_cache_mb

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy drive transactions (pysqlite's own BEGIN handling is off).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA cache_size={-1024 * int(cache_mb)}")  # negative: in KiB
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front: no deadlock-prone lock upgrades later.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        echo=settings.db.echo,
        pool_size=settings.db.pool_size,
        max_overflow=settings.db.max_overflow,
        pool_pre_ping=True,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run callback once the session's transaction has committed (e.g. dispatch a job)."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def _run_after_commit(session: Session) -> None:
    callbacks: list[Callable[[], None]] = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        callback()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error, then run after-commit hooks."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(AFTER_COMMIT_KEY, None)
        raise
    finally:
        session.close()
    _run_after_commit(session)


def get_session(request: Request) -> Iterator[Session]:
    """The request's session; committed before the response is sent."""
    with session_scope(request.app.state.ctx.runtime.sessions) as session:
        yield session


# scope="function": commit runs when the handler returns, before the response goes out, so a
# 202 is only ever sent for rows that are really stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

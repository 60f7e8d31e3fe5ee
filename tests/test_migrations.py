"""Migrations: an empty database goes to head and back to base; models and migrations agree."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from models import Base
from service import migrate
from tests.conftest import POSTGRES_URL, need_service

TABLES = {
    "org_mention",
    "tenant",
    "api_key",
    "conversation",
    "transcript_segment",
    "job",
    "insight",
    "competitor",
    "tracker",
    "deal",
    "deal_stage_change",
    "app_user",
    "experiment",
    "experiment_variant",
    "experiment_exposure",
    "conversation_adherence",
    "web_session",
    "trend_day",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    need_service("PostgreSQL", bool(POSTGRES_URL), "set DEALSIGHT_TEST_POSTGRES_URL")
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"dealsight_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_to_head_and_downgrade_to_base(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    assert _tables(empty_database) == TABLES
    assert migrate.current_heads(empty_database) == migrate.script_heads()
    migrate.downgrade(empty_database, "base")
    assert _tables(empty_database) == set()
    migrate.upgrade(empty_database)  # and up again: downgrades leave nothing behind
    assert _tables(empty_database) == TABLES


def test_models_match_migrations(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models differ from migrations; write a migration: {diff}"


def test_single_head() -> None:
    assert len(migrate.script_heads()) == 1

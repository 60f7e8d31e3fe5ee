"""Shared fixtures: a migrated database per session (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import migrate
from service.app import create_app
from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import AsrSettings, FetchSettings, JobSettings, Settings, StorageSettings
from service.tenants.service import TenantCredentials, create_tenant

AUDIO = Path(__file__).parent / "data" / "audio"
# .ci/run sets this: services that are down fail the run instead of skipping tests.
REQUIRE_SERVICES = os.environ.get("DEALSIGHT_TEST_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("DEALSIGHT_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("DEALSIGHT_TEST_REDIS_URL", "")


def need_service(name: str, configured: bool, reason: str) -> None:
    """Skip (locally) or fail (on CI) when an outside service is not available."""
    if configured:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required on CI but not available: {reason}")
    pytest.skip(f"{name} not configured: {reason}")


def _postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    need_service("PostgreSQL", bool(POSTGRES_URL), "set DEALSIGHT_TEST_POSTGRES_URL")
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"dealsight_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - report any connection problem the same way
        need_service("PostgreSQL", False, f"cannot create a database at {POSTGRES_URL}: {exc}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One migrated database per test session and backend (tests isolate by tenant)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "dealsight.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield url
    else:
        yield from _postgres_database()


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    """Test settings: fast sweeps, short leases and backoff, small limits."""
    jobs = {"sweep_interval_s": 0.2, "backoff_base_s": 0.2, "backoff_max_s": 1.0, "lease_s": 6.0}
    jobs.update(overrides.pop("jobs", {}))  # type: ignore[arg-type]
    fetch = {"connect_timeout_s": 2.0, "read_timeout_s": 2.0, "total_timeout_s": 10.0}
    fetch.update(overrides.pop("fetch", {}))  # type: ignore[arg-type]
    storage = overrides.pop("storage", {})
    asr = overrides.pop("asr", {})
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        jobs=JobSettings(**jobs),  # type: ignore[arg-type]
        fetch=FetchSettings(**fetch),  # type: ignore[arg-type]
        storage=StorageSettings(**storage),  # type: ignore[arg-type]
        asr=AsrSettings(**asr),  # type: ignore[arg-type]
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for one test, with its own blob directory."""
    return make_settings(database_url, tmp_path)


def new_tenant(settings: Settings, name: str = "Acme") -> TenantCredentials:
    """Create a tenant directly through the service layer."""
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            return create_tenant(session, name=name)
    finally:
        engine.dispose()


@pytest.fixture
def tenant(settings: Settings) -> TenantCredentials:
    """A fresh tenant: every test sees only its own data."""
    return new_tenant(settings)


@pytest.fixture
def other_tenant(settings: Settings) -> TenantCredentials:
    """A second tenant, for isolation tests."""
    return new_tenant(settings, "Globex")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app with its embedded workers running."""
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def idle_client(settings: Settings) -> Iterator[TestClient]:
    """The app without workers: accepted jobs stay queued (for ingestion-only tests)."""
    with TestClient(create_app(settings, start_workers=False)) as c:
        yield c

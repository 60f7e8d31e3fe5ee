"""The experiment pages over HTTP: content, escaping, tenant isolation, sign-in."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient

from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.experiments.seed import seed_calls
from tests.service.test_experiment_results import START, two_arm_calls
from tests.service.test_experiments_api import create
from tests.support import auth


def _seed(settings: Settings, creds: TenantCredentials) -> None:
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            seed_calls(s, tenant_id=uuid.UUID(creds.tenant_id), calls=two_arm_calls(300, 0.3, 0.1))
    finally:
        engine.dispose()


def test_experiment_page_shows_verdicts_variants_and_charts(
    idle_client: TestClient, tenant: TenantCredentials, settings: Settings
) -> None:
    exp = create(
        idle_client,
        tenant,
        key="exp",
        unit="conversation",
        name="Opener <script>alert(1)</script>",
        started_at=START.isoformat(),
    )
    _seed(settings, tenant)
    r = idle_client.get(f"/experiments/{exp['id']}", headers=auth(tenant))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    assert "Variant B lowers price objection rate by 20.0 points" in html
    assert "per protocol" in html and "intention to treat" in html
    assert html.count('class="chart"') == 3  # primary + two secondary metrics, one variant
    assert "Download CSV" in html and "Script adherence" in html
    listing = idle_client.get("/experiments", headers=auth(tenant)).text
    assert f"/experiments/{exp['id']}" in listing and "&lt;script&gt;" in listing


def test_experiment_page_isolation_and_sign_in(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    exp = create(idle_client, tenant)
    r = idle_client.get(f"/experiments/{exp['id']}", headers=auth(other_tenant))
    assert r.status_code == 404
    assert idle_client.get("/experiments/not-a-uuid", headers=auth(tenant)).status_code == 404
    anonymous = idle_client.get(f"/experiments/{exp['id']}", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)
    assert exp["name"] not in anonymous.text
    assert (
        f"/experiments/{exp['id']}"
        not in idle_client.get("/experiments", headers=auth(other_tenant)).text
    )


def test_days_without_data_render(idle_client: TestClient, tenant: TenantCredentials) -> None:
    exp = create(idle_client, tenant, started_at=(START + timedelta(days=39)).isoformat())
    r = idle_client.get(f"/experiments/{exp['id']}", headers=auth(tenant))
    assert r.status_code == 200 and "Not enough data yet" in r.text

"""trend_day stays equal to a GROUP BY over the insight table through analysis, re-analysis
and late deal teams; trends read from it equal trends grouped from the insights."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from service.trends import rollup
from service.trends.params import TrendFilters
from service.trends.service import trend
from tests.service.deal_support import (
    AUTHORITY,
    HUBSPOT,
    PRICE,
    deal_event,
    post_deal,
    post_email,
    setup_tenant,
)
from tests.support import auth, wait_for


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 9, 30, tzinfo=UTC)


def test_incremental_counts_equal_a_rebuild_and_both_paths_agree(
    client: TestClient,
    tenant: TenantCredentials,
    other_tenant: TenantCredentials,
    settings: Settings,
) -> None:
    setup_tenant(client, tenant)
    setup_tenant(client, other_tenant)
    post_email(client, tenant, PRICE + " " + HUBSPOT, deal="A", sent=at(3))
    post_email(client, tenant, AUTHORITY, deal="B", team=None, sent=at(10))
    again = post_email(client, tenant, PRICE, deal="B", team=None, sent=at(17))
    post_email(client, other_tenant, PRICE, deal="A", sent=at(3))
    # A late deal event gives B's conversations a team; a re-analysis replaces insights.
    post_deal(client, tenant, deal_event("B", team="West"))
    r = client.post(f"/v1/conversations/{again}/reanalyze", headers=auth(tenant))
    assert r.status_code in (200, 202), r.text
    assert wait_for(client, tenant, again)["status"] == "done"

    tid = uuid.UUID(tenant.tenant_id)
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            incremental = rollup.snapshot(s, tenant_id=tid)
            rollup.rebuild(s, tenant_id=tid)
            assert rollup.snapshot(s, tenant_id=tid) == incremental
            assert ("conversation", at(10).date(), "", "", "West") in incremental
            assert not any(
                k[0] == "conversation" and k[4] == "" and k[1] == at(10).date() for k in incremental
            )
            start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
            # Whole days, and partial days at both edges (the 17th's email at 09:30 is inside).
            windows = [(start, end), (at(3).replace(hour=12), at(17).replace(minute=45))]
            for kind in ("objection", "competitor"):
                for iv in ("day", "week", "month"):
                    for team in (None, "West", "East"):
                        for frm, to in windows:
                            f = TrendFilters(start=frm, end=to, interval=iv, team=team)  # type: ignore[arg-type]
                            fast = trend(s, tenant_id=tid, kind=kind, filters=f)
                            slow = trend(s, tenant_id=tid, kind=kind, filters=f, use_rollup=False)
                            assert fast == slow, (kind, iv, team, frm)
            edges = trend(
                s,
                tenant_id=tid,
                kind="objection",
                filters=TrendFilters(start=windows[1][0], end=windows[1][1], interval="month"),
            )
            assert edges.conversations == {"2026-11-01": 2}
            week = trend(
                s,
                tenant_id=tid,
                kind="objection",
                filters=TrendFilters(start=start, end=end, interval="month"),
            )
            assert sum(p.count for p in week.points if p.label == "price") == 2
            assert week.conversations == {"2026-11-01": 3}
    finally:
        engine.dispose()

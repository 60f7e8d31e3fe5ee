"""Board rows decide flags from grouped counts; they must match each deal page's full flags."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import seed
from service.db import make_engine, make_sessionmaker, session_scope
from service.deals import counts
from service.deals import facts as f
from service.deals.detail import deal_detail
from service.deals.review import review_data
from service.deals.schemas import DealFilters
from service.deals.service import list_deals, tenant_risk
from tests.conftest import make_settings

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_board_and_review_flags_equal_the_deal_pages(database_url: str, tmp_path: Path) -> None:
    summary = seed.seed(database_url, scale=0.01, seed_value=11, now=NOW, other_share=0.5)
    tid = uuid.UUID(summary["tenant"]["tenant_id"])
    engine = make_engine(make_settings(database_url, tmp_path))
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            board = list_deals(s, tenant_id=tid, filters=DealFilters(), now=NOW)
            assert len(board) == summary["tenant"]["deals"]
            pages = {
                d.external_id: deal_detail(s, tenant_id=tid, deal_id=d.id, now=NOW) for d in board
            }
            for row in board:
                page = pages[row.external_id]
                assert row.risks == [fl.code for fl in page.risk_flags], row.external_id
                assert (row.conversations, row.last_contact_at) == (
                    page.conversations,
                    page.last_contact_at,
                )
            # The data must exercise every flag the board decides from counts.
            seen = {code for row in board for code in row.risks}
            assert {"open_objections", "active_competitor"} <= seen

            # Each risk filter keeps exactly the deals whose pages carry that flag.
            for code in ("open_objections", "active_competitor", "talk_ratio_high", "stalled"):
                flagged = {
                    d.external_id
                    for d in list_deals(s, tenant_id=tid, filters=DealFilters(risk=code), now=NOW)
                }
                assert flagged == {k for k, p in pages.items() if code in p.risks}, code

            # The counts behind the board equal the full per-category states.
            cfg = tenant_risk(s, tenant_id=tid)
            open_ids = [d.external_id for d in board if d.status == "open"]
            since = NOW - timedelta(days=cfg.objection_lookback_days)
            states = f.objection_states(
                s, tenant_id=tid, deals=open_ids, since=since, categories=cfg.objection_categories
            )
            assert counts.open_objection_counts(
                s, tenant_id=tid, deals=open_ids, since=since, categories=cfg.objection_categories
            ) == {k: sum(x.open for x in v) for k, v in states.items()}
            rivals = f.active_competitors(
                s, tenant_id=tid, deals=open_ids, since=NOW - timedelta(days=cfg.competitor_days)
            )
            assert counts.active_competitor_counts(
                s, tenant_id=tid, deals=open_ids, since=NOW - timedelta(days=cfg.competitor_days)
            ) == {k: len(v) for k, v in rivals.items()}

            # Every review section shows the same flags as the deal pages.
            review = review_data(s, tenant_id=tid, since=NOW - timedelta(days=60), now=NOW)
            rows = [
                *(w.deal for w in review.wins),
                *review.new_deals,
                *review.closing,
                *review.stalled,
                *(o.deal for o in review.open_objections),
            ]
            assert rows, "the review shows no deals: the seed is too small to test it"
            for row in rows:
                assert row.risks == pages[row.external_id].risks, row.external_id
            assert {o.deal.external_id for o in review.open_objections} == {
                k for k, p in pages.items() if "open_objections" in p.risks
            }
    finally:
        engine.dispose()

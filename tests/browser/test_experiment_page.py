"""The experiment page in headless Chromium against a real `dealsight serve`."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.base import utcnow
from service.db import make_engine, make_sessionmaker, session_scope
from tests.browser.conftest import shot
from tests.conftest import make_settings, new_tenant
from tests.experiments.seed import Call, seed_calls
from tests.processes import service_env, start_server
from tests.web_support import PASSWORD, add_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
OPENER_QUOTE = "Before we dive in, what would you like to get out of today's call?"
LINES = [
    "Before we start, what would make this call a success for you?",
    "Who else is involved in making a decision like this?",
]


def _calls(start: Any) -> list[Call]:
    """21 days of calls by 24 reps; variant B's reps hear fewer price objections."""
    calls = []
    for day in range(21):
        for rep in range(24):
            arm = "A" if rep % 2 == 0 else "B"
            for k in range(3):
                i = day * 72 + rep * 3 + k
                price = (i % 10) < (3 if arm == "A" else 1)
                said = "11" if (i % 5) < 3 else "10" if (i % 5) == 3 else "00"
                calls.append(
                    Call(
                        variant=arm,
                        experiment="opener-q4",
                        occurred_at=start + timedelta(days=day, hours=2 + k),
                        rep=f"R-{rep}",
                        objections=("price",) if price else (),
                        next_step=(i * 7919) % 11 < 4,
                        talk_ratio=0.52 + (rep % 5) * 0.02 - (0.03 if arm == "B" else 0.0),
                        adherence=(said.count("1") / 2) if arm == "B" else None,
                        said_mask=said if arm == "B" else "",
                        evidence=[
                            {
                                "said": said[0] == "1",
                                "quote": OPENER_QUOTE if said[0] == "1" else None,
                            },
                            {
                                "said": said == "11",
                                "quote": "Apart from you, who else weighs in on this?"
                                if said == "11"
                                else None,
                            },
                        ]
                        if arm == "B"
                        else [],
                    )
                )
    return calls


def test_experiment_page_in_the_browser(browser: Any, database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    creds = new_tenant(settings, "Acme Sales")
    email = add_user(settings, creds, name="Erin Enablement", role="manager")
    proc, url = start_server(service_env(tmp_path, database_url), tmp_path / "server.log")
    start = utcnow() - timedelta(days=22)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            body = {
                "key": "opener-q4",
                "name": "Goal-first opener",
                "hypothesis": "Asking what would make the call a success lowers price objections.",
                "unit": "rep",
                "primary_metric": "objection_rate.price",
                "secondary_metrics": ["next_step_agreed", "rep_talk_ratio"],
                "planned_units_per_variant": 12,
                "started_at": start.isoformat(),
                "variants": [
                    {"key": "A", "name": "Current opener", "control": True},
                    {"key": "B", "name": "Goal-first", "script": LINES},
                ],
            }
            r = client.post(
                "/v1/experiments", json=body, headers={"Authorization": f"Bearer {creds.api_key}"}
            )
            assert r.status_code == 201, r.text
            exp = r.json()
        engine = make_engine(settings)
        try:
            with session_scope(make_sessionmaker(engine)) as s:
                seed_calls(
                    s,
                    tenant_id=uuid.UUID(creds.tenant_id),
                    calls=_calls(start),
                    experiment_id=uuid.UUID(exp["id"]),
                )
        finally:
            engine.dispose()

        errors: list[str] = []
        page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
        # Chromium's own /favicon.ico probe is logged as a console error without a page
        # response; every real failed request of the page is caught by the response hook.
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "response",
            lambda resp: errors.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None,
        )
        page.goto(f"{url}/experiments/{exp['id']}")
        assert "/login" in page.url
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/experiments/{exp['id']}")

        verdicts = page.locator("#verdicts").inner_text()
        assert "Variant B lowers price objection rate by" in verdicts
        assert "95% interval" in verdicts and "Holm" in verdicts
        table = page.locator("#variants").inner_text()
        assert "intention to treat" in table and "per protocol" in table
        assert "12 reps" in table  # clusters shown: randomised by rep
        adherence = page.locator("#adherence").inner_text()
        assert "Who else is involved in making a decision like this?" in adherence
        assert "Before we dive in" in adherence
        assert "matches the configured weights" in page.locator("#srm").inner_text()
        page.wait_for_selector(".chart[data-drawn='1']", timeout=15000)
        assert page.locator(".chart[data-drawn='1']").count() == 3
        # The band is drawn: Plotly renders the filled interval as a path in the chart.
        assert page.locator("#over-time .chart .scatterlayer path.js-fill").count() >= 1
        shot(page, "experiment.png", database_url)

        # The list links to it, and the nav shows the section.
        page.goto(f"{url}/experiments")
        page.locator("#experiments a", has_text="Goal-first opener").click()
        page.wait_for_url(f"{url}/experiments/{exp['id']}")
        assert page.locator("nav a[aria-current=page]", has_text="Experiments").count() == 1
        assert not errors, errors
    finally:
        proc.stop()

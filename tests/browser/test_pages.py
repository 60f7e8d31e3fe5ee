"""The pages in headless Chromium against a real `dealsight serve`: review -> deal -> call."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import shot
from tests.conftest import make_settings, new_tenant
from tests.processes import service_env, start_server
from tests.web_seed import conversation_json, seed_pipeline
from tests.web_support import PASSWORD, add_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1360, "height": 900}


def test_review_to_deal_to_quote_in_the_recording(
    browser: Any, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    creds = new_tenant(settings, "Acme Sales")
    email = add_user(settings, creds, name="Mia Manager", role="manager")
    proc, url = start_server(service_env(tmp_path, database_url), tmp_path / "server.log")
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            seeded = seed_pipeline(client, creds)
            call = conversation_json(client, creds, seeded.call_id)
        errors: list[str] = []
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        # Not signed in: the review page sends us to the form, and back after signing in.
        page.goto(f"{url}/review")
        assert "/login?next=/review" in page.url
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/review")
        headings = page.locator("section.card h2").all_inner_texts()
        order = [
            "Wins since the last review",
            "Pipeline updates",
            "Obstacles",
            "Competitor updates",
        ]
        positions = [next(i for i, h in enumerate(headings) if name in h) for name in order]
        assert positions == sorted(positions), headings
        wins = page.locator("#wins").inner_text()
        assert "Globex rollout" in wins and "price" in wins
        assert "Initech platform" in page.locator("#stalled ~ table").first.inner_text()
        assert "Acme renewal" in page.locator("#new ~ table").first.inner_text()
        obstacles = page.locator("#obstacles").inner_text()
        assert "authority" in obstacles and "I need approval from my CFO" in obstacles
        competitors = page.locator("#competitors").inner_text()
        assert "HubSpot" in competitors
        page.wait_for_selector(".chart[data-drawn='1']", timeout=15000)
        assert page.locator(".chart[data-drawn='1']").count() >= 2
        shot(page, "review.png", database_url)

        # Team filter: West's deal only shows for West.
        page.goto(f"{url}/review?team=West")
        assert "Umbrella pilot" in page.locator("#new ~ table").first.inner_text()
        assert "Acme renewal" not in page.content()

        # Click through to the deal with the recorded call.
        page.goto(f"{url}/review")
        page.locator("#new ~ table a", has_text="Acme renewal").first.click()
        page.wait_for_url(f"{url}/deals/**")
        deal_text = page.locator("main").inner_text()
        assert "Acme renewal" in deal_text and "HubSpot" in deal_text
        assert "price" in deal_text
        page.wait_for_selector(".chart[data-drawn='1']", timeout=15000)
        shot(page, "deal.png", database_url)

        # ... and to the call: the transcript with speakers and the evidence highlighted.
        page.locator("#timeline a", has_text="Call").first.click()
        page.wait_for_url(f"{url}/conversations/{seeded.call_id}**")
        assert (
            page.locator(".turn.rep").count() >= 1 and page.locator(".turn.customer").count() >= 1
        )
        assert page.locator("mark.ev.objection").count() >= 1
        assert page.locator("mark.ev.competitor").count() >= 1
        wait_js(page, "document.getElementById('player').readyState >= 1")
        price = next(
            i for i in call["insights"] if i["kind"] == "objection" and i["label"] == "price"
        )
        assert price["start"] > 5  # late in the call, so a seek is visible
        page.click(f"button.seek[data-seek='{price['start']:.2f}']")
        wait_js(
            page,
            f"Math.abs(document.getElementById('player').currentTime - {price['start']}) < 1.5",
        )
        t = page.evaluate("document.getElementById('player').currentTime")
        assert price["start"] - 0.05 <= t < price["start"] + 1.5
        page.evaluate("document.getElementById('player').pause()")
        # Clicking the highlighted words in the transcript seeks too.
        first_mark = page.locator("mark.ev[data-seek]").first
        mark_t = float(first_mark.get_attribute("data-seek"))
        first_mark.click()
        wait_js(page, f"Math.abs(document.getElementById('player').currentTime - {mark_t}) < 1.5")
        page.evaluate("document.getElementById('player').pause()")
        page.click(f"button.seek[data-seek='{price['start']:.2f}']")
        page.evaluate("document.getElementById('player').pause()")
        shot(page, "conversation.png", database_url)
        assert not errors, errors
    finally:
        proc.stop()


def wait_js(page: Any, expression: str, timeout_s: float = 15.0) -> None:
    """Poll an expression (wait_for_function would eval strings, which our CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        time.sleep(0.1)

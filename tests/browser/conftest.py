"""Shared pieces of the browser tests: Debian's Chromium, and screenshots for the README."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need_service

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never `playwright install`: no downloads)."""
    need_service("Chromium", os.path.exists(CHROMIUM), f"install Debian's chromium ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need_service("Playwright", False, "pip install playwright")
        raise
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str, database_url: str) -> None:
    """Save a full-page screenshot under docs/ (from the SQLite run; both runs look the same)."""
    if not database_url.startswith("sqlite"):
        return
    tmp = DOCS / f".{name}"
    page.screenshot(path=str(tmp), full_page=True)
    shutil.move(tmp, DOCS / name)

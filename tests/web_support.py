"""Helpers for page tests: users through the service layer, logging in through the real form."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient

from service.db import make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from service.tenants.service import TenantCredentials
from service.web.users import create_user

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(
    settings: Settings,
    creds: TenantCredentials,
    *,
    role: str = "manager",
    email: str | None = None,
    password: str = PASSWORD,
    name: str | None = None,
) -> str:
    """Create a user of the tenant; returns the email."""
    email = email or f"user-{uuid.uuid4().hex[:8]}@seller.example"
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            create_user(
                session,
                tenant_id=uuid.UUID(creds.tenant_id),
                email=email,
                role=role,
                password=password,
                name=name,
            )
    finally:
        engine.dispose()
    return email.lower()


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def login(
    client: TestClient | httpx.Client,
    email: str,
    password: str = PASSWORD,
    *,
    next_url: str = "",
    **extra_headers: str,
) -> httpx.Response:
    """Open the login form and post it like a browser (no redirect following)."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    data: dict[str, Any] = {
        "email": email,
        "password": password,
        "csrf_token": csrf_from(page.text),
        "next": next_url,
    }
    return client.post("/login", data=data, headers=extra_headers, follow_redirects=False)

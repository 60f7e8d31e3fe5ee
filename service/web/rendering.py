"""The Jinja2 environment of the pages and the one function that renders a page."""

from __future__ import annotations

import math
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from service.web.pages.links import evidence_list_url, evidence_url, quote_url

# Pages only load our own scripts and styles; Plotly sets inline styles on the chart elements.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def clock(seconds: float | None) -> str:
    """Seconds as m:ss (or h:mm:ss) for timestamps in a transcript."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def day(value: date | datetime | None) -> str:
    """A date as '1 Dec 2026' (UTC)."""
    if value is None:
        return ""
    return f"{value.day} {value.strftime('%b %Y')}"


def when(value: datetime | None) -> str:
    """A timestamp as '1 Dec 2026 14:05 UTC'."""
    if value is None:
        return ""
    return f"{day(value)} {value.strftime('%H:%M')} UTC"


def money(value: float | int | None) -> str:
    """An amount as 42,000 (no currency: the CRM's own)."""
    if value is None:
        return "-"
    return f"{value:,.0f}"


def pct(value: float | None) -> str:
    """A share as 43%."""
    if value is None:
        return "-"
    return f"{value * 100:.0f}%"


def query(**params: Any) -> str:
    """A query string from the non-empty parameters (values are URL-encoded)."""
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return ("?" + urlencode(clean)) if clean else ""


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment: autoescaped HTML, undefined names fail loudly."""
    env = Environment(
        loader=PackageLoader("service.web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(clock=clock, day=day, when=when, money=money, pct=pct)
    env.globals.update(
        query=query,
        quote_url=quote_url,
        evidence_url=evidence_url,
        evidence_list_url=evidence_list_url,
    )
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page; the base layout reads the viewer, CSRF token and asset URLs from here."""
    from service.web.assets import asset_urls

    viewer = getattr(request.state, "viewer", None)
    ctx: dict[str, Any] = {
        "viewer": viewer,
        "csrf_token": viewer.csrf_token if viewer is not None else None,
        "assets": asset_urls(request.app),
        "path": request.url.path,
        "nav": getattr(request.app.state, "web_nav", ()),
    }
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})

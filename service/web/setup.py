"""Mounting the pages on the app: assets, routers, HTML errors, navigation."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, FastAPI

from service.settings import Settings
from service.web.assets import load_assets
from service.web.assets import router as assets_router
from service.web.errors import install_page_errors
from service.web.login import router as login_router
from service.web.throttle import LoginThrottle


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the navigation bar."""

    label: str
    href: str


DEFAULT_NAV = (NavItem("Review", "/review"), NavItem("Deals", "/deals"))


def add_nav(app: FastAPI, label: str, href: str) -> None:
    """Add a page to the navigation bar (e.g. Experiments), after the ones already there."""
    app.state.web_nav = (*app.state.web_nav, NavItem(label, href))


def install_pages(app: FastAPI, settings: Settings, routers: tuple[APIRouter, ...] = ()) -> None:
    """Serve the pages; call after install_error_handlers and the API routers."""
    from service.web.pages.audio import router as audio_router
    from service.web.pages.conversations import router as conversation_router
    from service.web.pages.deals import router as deals_router
    from service.web.pages.review import router as review_router

    app.state.web_assets = load_assets()
    app.state.web_throttle = LoginThrottle(
        max_failures=settings.web.login_max_failures, window_s=settings.web.login_window_s
    )
    app.state.web_nav = DEFAULT_NAV
    for router in (
        assets_router,
        login_router,
        review_router,
        deals_router,
        conversation_router,
        audio_router,
        *routers,
    ):
        app.include_router(router)
    install_page_errors(app)

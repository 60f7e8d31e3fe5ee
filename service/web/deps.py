"""Who is looking at a page: a session cookie or the tenant's API key; CSRF checks for forms."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import Depends, Request

from service.auth import bearer_token, tenant_for_key
from service.db import session_scope
from service.errors import ServiceError, Unauthorized
from service.settings import Settings
from service.web.sessions import resolve_session

SESSION_COOKIE = "dealsight_session"
LOGIN_CSRF_COOKIE = "dealsight_login_csrf"
CSRF_FIELD = "csrf_token"


class LoginRequired(ServiceError):
    """No session: browsers are sent to the login page, scripts get 401."""

    status_code = 401
    code = "login_required"


class Forbidden(ServiceError):
    """Signed in, but this is not allowed (wrong role, failed CSRF check)."""

    status_code = 403
    code = "forbidden"


class TooManyAttempts(ServiceError):
    """Too many failed logins for this email or address."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person (or script) a page is rendered for; everything shown is this tenant's."""

    tenant_id: uuid.UUID
    tenant_name: str
    via: Literal["session", "api_key"]
    user_id: uuid.UUID | None = None
    user_name: str | None = None
    user_email: str | None = None
    # A script with the tenant's API key may do what the tenant's admin may do.
    role: str = "admin"
    csrf_token: str | None = None

    def has_role(self, *roles: str) -> bool:
        """Whether the viewer holds one of the roles (admins hold them all)."""
        return self.role == "admin" or self.role in roles


def cookie_secure(settings: Settings) -> bool:
    """Secure cookies unless we are plainly on local http."""
    if settings.web.cookie_secure is not None:
        return settings.web.cookie_secure
    return settings.env == "production" or settings.public_url.startswith("https://")


def require_viewer(request: Request) -> Viewer:
    """The page's viewer from `Authorization: Bearer <API key>` or the session cookie."""
    ctx = request.app.state.ctx
    token = bearer_token(request)
    viewer: Viewer | None = None
    # Own short transaction, as in require_tenant: the page's queries use the request session.
    # Nothing is raised inside it, so removing a stale session row is committed.
    with session_scope(ctx.runtime.sessions) as session:
        if token is not None:
            tenant = tenant_for_key(session, token)
            if tenant is not None:
                viewer = Viewer(tenant_id=tenant.id, tenant_name=tenant.name, via="api_key")
        else:
            cookie = request.cookies.get(SESSION_COOKIE, "")
            found = (
                resolve_session(session, token=cookie, idle_s=ctx.settings.web.session_idle_s)
                if cookie
                else None
            )
            if found is not None:
                viewer = Viewer(
                    tenant_id=found.tenant.id,
                    tenant_name=found.tenant.name,
                    via="session",
                    user_id=found.user.id,
                    user_name=found.user.name,
                    user_email=found.user.email,
                    role=found.user.role,
                    csrf_token=found.session.csrf_token,
                )
    if viewer is None and token is not None:
        raise Unauthorized("unknown or revoked API key", code="invalid_api_key")
    if viewer is None:
        raise LoginRequired("sign in to see this page")
    request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(require_viewer)]


def require_role(*roles: str) -> Callable[[Viewer], Viewer]:
    """A dependency admitting only viewers with one of the roles (admins always)."""

    def check(viewer: ViewerDep) -> Viewer:
        if not viewer.has_role(*roles):
            raise Forbidden(f"this page is for {' or '.join(roles)} users", code="wrong_role")
        return viewer

    return check


def same_origin(request: Request, settings: Settings) -> bool:
    """Whether the Origin (or Referer) header, when sent, is this site."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        # Browsers send Origin on cross-site POSTs; its absence means a same-site or non-browser
        # client, and the synchronizer token still has to match.
        return True
    if source == "null":
        return False
    parts = urlsplit(source)
    allowed = {
        request.url.netloc.lower(),
        urlsplit(settings.public_url).netloc.lower(),
    }
    host = request.headers.get("host")
    if host:
        allowed.add(host.lower())
    return parts.netloc.lower() in allowed


async def require_csrf(request: Request, viewer: ViewerDep) -> Viewer:
    """For POST forms: the session's synchronizer token must come back in the form, same-site."""
    if viewer.via == "api_key":
        return viewer  # no cookies involved: a cross-site page cannot forge the header
    settings: Settings = request.app.state.ctx.settings
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        not same_origin(request, settings)
        or not isinstance(sent, str)
        or viewer.csrf_token is None
        or not hmac.compare_digest(sent.encode(), viewer.csrf_token.encode())
    ):
        raise Forbidden(
            "this form was not sent from a Dealsight page of your session (it may be stale: "
            "reload the page and try again)",
            code="csrf_failed",
        )
    return viewer


CsrfViewerDep = Annotated[Viewer, Depends(require_csrf)]


def safe_next(target: str | None, default: str = "/review") -> str:
    """A same-site relative path to go to after login; anything else becomes the default."""
    if not target or len(target) > 2000:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    if parts.path.startswith(("/login", "/logout")):
        return default
    return target

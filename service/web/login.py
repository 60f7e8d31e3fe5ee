"""Login and logout pages: a real form, a session cookie, CSRF-checked posts, throttling."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from service.db import SessionDep
from service.settings import Settings
from service.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfViewerDep,
    Forbidden,
    TooManyAttempts,
    cookie_secure,
    safe_next,
    same_origin,
)
from service.web.rendering import render
from service.web.sessions import create_session, end_session
from service.web.throttle import LoginThrottle
from service.web.users import authenticate, normalise_email

router = APIRouter(include_in_schema=False)


def _login_form(
    request: Request, *, next_url: str, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    # Before login there is no session to hold a synchronizer token: the form's token is also
    # set as a SameSite=Strict cookie and both must match (login CSRF).
    settings: Settings = request.app.state.ctx.settings
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"next_url": next_url, "email": email, "error": error, "login_csrf": token},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(settings),
        path="/login",
    )
    return response


@router.get("/login")
def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """The sign-in form."""
    return _login_form(request, next_url=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password; on success start a session and go to the page asked for."""
    settings: Settings = request.app.state.ctx.settings
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if (
        not same_origin(request, settings)
        or not cookie
        or not hmac.compare_digest(cookie.encode(), csrf_token.encode())
    ):
        raise Forbidden(
            "the sign-in form was stale or came from another site: open the sign-in page again",
            code="csrf_failed",
        )
    throttle: LoginThrottle = request.app.state.web_throttle
    email_key = "email:" + normalise_email(email)
    keys = [email_key, "addr:" + (request.client.host if request.client else "?")]
    wait = throttle.retry_after(keys)
    if wait:
        raise TooManyAttempts(
            f"too many failed sign-ins: try again in {max(1, round(wait / 60))} minute(s)",
            retry_after=wait,
        )
    next_url = safe_next(next)
    user = authenticate(session, email=email, password=password)
    if user is None:
        throttle.failed(keys)
        return _login_form(
            request,
            next_url=next_url,
            email=email,
            error="That email and password do not match an active account.",
            status=401,
        )
    throttle.succeeded(email_key)
    token, _ = create_session(session, user=user, ttl_s=settings.web.session_ttl_s)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.web.session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(settings),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, viewer: CsrfViewerDep) -> Response:
    """End the session (CSRF-checked, so another site cannot sign people out)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if viewer.via == "session" and token:
        end_session(session, token=token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    """The review page is the start page."""
    return RedirectResponse("/review", status_code=303)

"""HTML error pages for people; the API under /v1 keeps its JSON errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import ServiceError
from service.web.deps import LoginRequired, TooManyAttempts, safe_next
from service.web.rendering import render

Handler = Callable[[Request, Exception], Awaitable[Response]]
API_PREFIXES = ("/v1/", "/healthz", "/readyz", "/docs", "/redoc", "/openapi.json")

TITLES = {
    400: "That request did not make sense",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "That request did not make sense",
    429: "Too many attempts",
    503: "Temporarily unavailable",
}


def is_page_request(request: Request) -> bool:
    """Whether the request is for a page (people) rather than the JSON API (machines)."""
    return not request.url.path.startswith(API_PREFIXES)


def wants_redirect(request: Request) -> bool:
    """A browser without credentials: send it to the login form instead of a 401."""
    return request.method in ("GET", "HEAD") and "authorization" not in request.headers


def error_page(request: Request, status: int, detail: str, code: str) -> Response:
    """The HTML error page (never echoes anything but our own escaped message)."""
    headers = {"Retry-After": "5"} if status == 503 else {}
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Something went wrong"),
            "detail": detail,
            "code": code,
        },
        status_code=status,
        headers=headers,
    )


def install_page_errors(app: FastAPI) -> None:
    """Wrap the JSON error handlers: page requests get HTML, API requests what they got before."""
    original: dict[type[Exception] | int, Handler] = dict(app.exception_handlers)

    def wrap(exc_class: type[Exception], page: Callable[[Request, Exception], Response]) -> None:
        before = original.get(exc_class)
        assert before is not None, f"install_error_handlers must run first ({exc_class})"

        async def handler(request: Request, exc: Exception) -> Response:
            if is_page_request(request):
                return page(request, exc)
            return await before(request, exc)

        app.add_exception_handler(exc_class, handler)

    def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        if isinstance(exc, LoginRequired) and wants_redirect(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(
                f"/login?next={quote(safe_next(target), safe='/')}", status_code=303
            )
        response = error_page(request, exc.status_code, exc.message, exc.code)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        names = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
        detail = f"check these parameters: {', '.join(names)}" if names else "check the address"
        return error_page(request, 400, detail, "validation_error")

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = {404: "There is nothing at this address."}.get(exc.status_code, str(exc.detail))
        return error_page(request, exc.status_code, detail, "http_error")

    def database_busy(request: Request, exc: Exception) -> Response:
        detail = "The database is busy or unreachable. Try again in a few seconds."
        return error_page(request, 503, detail, "database_unavailable")

    wrap(OperationalError, database_busy)
    wrap(SQLAlchemyTimeoutError, database_busy)
    wrap(ServiceError, service_error)
    wrap(RequestValidationError, validation_error)
    wrap(StarletteHTTPException, http_error)

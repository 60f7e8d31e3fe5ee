"""Service errors with HTTP status codes and stable machine-readable codes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException


class ServiceError(Exception):
    """An error a client can act on; rendered as {"error": code, "detail": message}."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code


class BadRequest(ServiceError):
    """The request is well-formed HTTP but its content is wrong."""


class Unauthorized(ServiceError):
    """Missing or wrong credentials or signature."""

    status_code = 401
    code = "unauthorized"


class NotFound(ServiceError):
    """The thing does not exist for this tenant (other tenants' ids look the same)."""

    status_code = 404
    code = "not_found"


class PayloadTooLarge(ServiceError):
    """The body or a part of it is over the configured limit."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    """The request's Content-Type is not one this endpoint takes."""

    status_code = 415
    code = "unsupported_media_type"


class Conflict(ServiceError):
    """The request conflicts with the current state."""

    status_code = 409
    code = "conflict"


class Unavailable(ServiceError):
    """A dependency (database, blob store, broker) is not usable right now."""

    status_code = 503
    code = "unavailable"


def error_body(code: str, detail: Any) -> dict[str, Any]:
    """The one error shape every endpoint returns."""
    return {"error": code, "detail": detail}


def install_error_handlers(app: FastAPI) -> None:
    """Render every error in the same {"error", "detail"} shape."""

    async def service_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status_code, headers=headers
        )

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(error_body("validation_error", errors), status_code=422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, exc.detail), status_code=exc.status_code, headers=exc.headers
        )

    async def database_busy(_: Request, exc: Exception) -> JSONResponse:
        # Locked SQLite, a full connection pool, a restarting PostgreSQL: try again shortly.
        detail = f"the database is busy or unreachable ({type(exc).__name__}); retry shortly"
        return JSONResponse(
            error_body("database_unavailable", detail),
            status_code=503,
            headers={"Retry-After": "5"},
        )

    app.add_exception_handler(OperationalError, database_busy)
    app.add_exception_handler(SQLAlchemyTimeoutError, database_busy)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)

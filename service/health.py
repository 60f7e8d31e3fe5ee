"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Database, blob store and executor are usable; 503 names what is not."""
    rt = request.app.state.ctx.runtime
    checks: dict[str, Any] = {}

    def database() -> None:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    for name, fn in (
        ("database", database),
        ("blob_store", rt.store.check),
        ("executor", rt.executor.check),
    ):
        try:
            await run_in_threadpool(fn)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}: {exc}"
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)

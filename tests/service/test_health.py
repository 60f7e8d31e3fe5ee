"""Liveness and readiness."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz(idle_client: TestClient) -> None:
    assert idle_client.get("/healthz").json() == {"status": "ok"}


def test_readyz_ok_with_workers(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "blob_store": "ok", "executor": "ok"}


def test_readyz_names_what_is_not_ready(idle_client: TestClient) -> None:
    # Workers not started: the service is alive but cannot process jobs.
    r = idle_client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok" and body["checks"]["executor"].startswith("error")


def test_unknown_route_and_method_use_the_error_shape(idle_client: TestClient) -> None:
    r = idle_client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = idle_client.delete("/healthz")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"

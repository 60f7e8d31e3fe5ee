"""Webhook signatures: `X-Dealsight-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body>`."""

from __future__ import annotations

import hashlib
import hmac
import time

from service.errors import Unauthorized

HEADER = "X-Dealsight-Signature"


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """The timestamp and the v1 signatures of a header; 401 when missing or malformed."""
    if not header:
        raise Unauthorized(f"missing {HEADER} header", code="missing_signature")
    timestamp: int | None = None
    sigs: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            sigs.append(value.lower())
    if timestamp is None or not sigs:
        raise Unauthorized(
            f"malformed {HEADER} header: expected t=<unix seconds>,v1=<hex>",
            code="malformed_signature",
        )
    return timestamp, sigs


def check_fresh(timestamp: int, *, tolerance_s: int, now: float | None = None) -> None:
    """Refuse timestamps too far from now (a replayed or badly clocked request)."""
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise Unauthorized(
            f"signature timestamp is more than {tolerance_s} s from the server's clock",
            code="stale_signature",
        )


def start_mac(secret: str, timestamp: int) -> hmac.HMAC:
    """An HMAC already fed with the "<t>." prefix; feed it the raw body next."""
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    mac.update(f"{timestamp}.".encode())
    return mac


def check_mac(mac: hmac.HMAC, sigs: list[str]) -> None:
    """Compare in constant time against every v1 signature given (secret rotation)."""
    expected = mac.hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in sigs):
        raise Unauthorized("signature does not match the body", code="bad_signature")


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The header value for a body (used by clients, tests and benchmarks)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = start_mac(secret, t)
    mac.update(body)
    return f"t={t},v1={mac.hexdigest()}"

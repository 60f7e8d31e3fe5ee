"""Browser sessions: an opaque cookie token whose SHA-256 is the row id; never commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Tenant, User, WebSession
from models.base import utcnow

# Writing last_seen_at on every page view would hold SQLite's write lock for nothing.
TOUCH_EVERY = timedelta(seconds=60)


def token_id(token: str) -> str:
    """The stored id of a cookie token (a database leak does not leak usable cookies)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session with its user and tenant."""

    session: WebSession
    user: User
    tenant: Tenant


def create_session(session: Session, *, user: User, ttl_s: int) -> tuple[str, WebSession]:
    """A new session for the user; returns (cookie token, row)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        id=token_id(token),
        user_id=user.id,
        tenant_id=user.tenant_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_session(
    session: Session, *, token: str, idle_s: int, now: datetime | None = None
) -> SignedIn | None:
    """The live session of a cookie token, or None (expired, idle too long, user disabled)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.execute(
        select(WebSession, User, Tenant)
        .join(User, User.id == WebSession.user_id)
        .join(Tenant, Tenant.id == WebSession.tenant_id)
        .where(WebSession.id == token_id(token), User.tenant_id == WebSession.tenant_id)
    ).one_or_none()
    if row is None:
        return None
    web, user, tenant = row
    if web.expires_at <= now or web.last_seen_at + timedelta(seconds=idle_s) <= now:
        session.delete(web)
        return None
    if user.disabled_at is not None:
        return None
    if now - web.last_seen_at >= TOUCH_EVERY:
        web.last_seen_at = now
    return SignedIn(session=web, user=user, tenant=tenant)


def end_session(session: Session, *, token: str) -> None:
    """Forget the session of a cookie token (logout)."""
    session.execute(delete(WebSession).where(WebSession.id == token_id(token)))


def purge_expired(session: Session, *, now: datetime | None = None) -> int:
    """Delete expired sessions; returns how many."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)

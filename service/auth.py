"""API keys: generation, hashing and the request dependency that resolves the caller's tenant."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiKey, Tenant
from service.db import session_scope
from service.errors import Unauthorized

KEY_PREFIX = "dsk_"


def new_api_key() -> tuple[str, str, str]:
    """A fresh key as (key, display prefix, sha256 hex)."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def hash_key(key: str) -> str:
    """SHA-256 of a key: keys are long random strings, so a fast hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_webhook_secret() -> str:
    """A fresh webhook signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


def tenant_for_key(session: Session, key: str) -> Tenant | None:
    """The tenant owning an unrevoked key, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = session.execute(
        select(Tenant)
        .join(ApiKey, ApiKey.tenant_id == Tenant.id)
        .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    return row


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_tenant(request: Request) -> Tenant:
    """The caller's tenant from its API key (a detached row); 401 otherwise."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("send the tenant's API key as 'Authorization: Bearer <key>'")
    # Its own short transaction: on SQLite every transaction holds the write lock, and the
    # request's session may stay open while a large upload streams in.
    with session_scope(request.app.state.ctx.runtime.sessions) as session:
        tenant = tenant_for_key(session, token)
    if tenant is None:
        raise Unauthorized("unknown or revoked API key", code="invalid_api_key")
    return tenant


TenantDep = Annotated[Tenant, Depends(require_tenant)]

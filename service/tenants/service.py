"""Tenant creation and credential rotation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiKey, Tenant
from service.auth import new_api_key, new_webhook_secret


@dataclass(frozen=True, slots=True)
class TenantCredentials:
    """What a new tenant needs to call us; the API key is never retrievable again."""

    tenant_id: str
    name: str
    api_key: str
    webhook_secret: str


def create_tenant(session: Session, *, name: str) -> TenantCredentials:
    """Create a tenant with one API key and a webhook secret."""
    name = name.strip()
    if not name:
        raise ValueError("a tenant needs a name")
    tenant = Tenant(name=name[:200], webhook_secret=new_webhook_secret())
    session.add(tenant)
    session.flush()
    key = add_api_key(session, tenant=tenant)
    return TenantCredentials(
        tenant_id=str(tenant.id),
        name=tenant.name,
        api_key=key,
        webhook_secret=tenant.webhook_secret,
    )


def add_api_key(session: Session, *, tenant: Tenant, name: str = "default") -> str:
    """Add an API key to a tenant and return it in clear (shown once)."""
    key, prefix, digest = new_api_key()
    session.add(ApiKey(tenant_id=tenant.id, prefix=prefix, key_hash=digest, name=name))
    session.flush()
    return key


def count_tenants(session: Session) -> int:
    """How many tenants exist."""
    return len(session.execute(select(Tenant.id).limit(2)).all())

"""The caller's own tenant: its email domains and analysis settings."""

from __future__ import annotations

import re

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from models import Tenant
from nlp.objections import CATEGORIES
from service.auth import TenantDep
from service.db import SessionDep
from service.deals.settings import RiskPatch, RiskSettings, risk_settings

router = APIRouter(tags=["tenant"])
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class TenantOut(BaseModel):
    """The tenant as its users see it."""

    id: str
    name: str
    email_domains: list[str]
    disabled_categories: list[str]
    risk: RiskSettings


class TenantPatch(BaseModel):
    """Fields to change; absent fields stay as they are."""

    email_domains: list[str] | None = Field(default=None, max_length=100)
    disabled_categories: list[str] | None = None
    risk: RiskPatch | None = None

    @field_validator("email_domains")
    @classmethod
    def _domains(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        out: list[str] = []
        for d in v:
            d = d.strip().lower().removeprefix("@")
            if not _DOMAIN.match(d):
                raise ValueError(f"not a domain name: {d!r}")
            if d not in out:
                out.append(d)
        return out

    @field_validator("disabled_categories")
    @classmethod
    def _categories(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        unknown = [c for c in v if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {', '.join(CATEGORIES)}")
        return sorted(set(v))


def _out(t: Tenant) -> TenantOut:
    return TenantOut(
        id=str(t.id),
        name=t.name,
        email_domains=list(t.email_domains or []),
        disabled_categories=list((t.settings or {}).get("disabled_categories", [])),
        risk=risk_settings(t),
    )


@router.get("/v1/tenant", response_model=TenantOut)
def get_tenant(tenant: TenantDep) -> TenantOut:
    """The caller's tenant."""
    return _out(tenant)


@router.patch("/v1/tenant", response_model=TenantOut)
def patch_tenant(body: TenantPatch, tenant: TenantDep, session: SessionDep) -> TenantOut:
    """Change email domains, disabled categories or risk-flag settings (partial `risk` object)."""
    row = session.get(Tenant, tenant.id)
    assert row is not None
    if body.email_domains is not None:
        row.email_domains = body.email_domains
    if body.disabled_categories is not None:
        row.settings = {**(row.settings or {}), "disabled_categories": body.disabled_categories}
    if body.risk is not None:
        merged = body.risk.merged(risk_settings(row))
        row.settings = {**(row.settings or {}), "risk": merged.model_dump()}
    session.flush()
    return _out(row)

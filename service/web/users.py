"""Users of the pages: create, authenticate, disable; never commits."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import Tenant, User, WebSession
from models.base import utcnow
from models.user import USER_ROLES
from service.errors import BadRequest, Conflict, NotFound
from service.web.passwords import MAX_PASSWORD_CHARS, burn_time, hash_password, verify_password

# Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
MIN_PASSWORD_CHARS = 10


def normalise_email(email: str) -> str:
    """Emails are compared and stored lowercase, without surrounding spaces."""
    return email.strip().lower()


def create_user(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    email: str,
    role: str,
    password: str,
    name: str | None = None,
) -> User:
    """Add a user to a tenant; 409 if the email is taken anywhere (it is the login)."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise BadRequest(f"not an email address: {email!r}", code="invalid_email")
    if role not in USER_ROLES:
        raise BadRequest(f"role must be one of {', '.join(USER_ROLES)}", code="invalid_role")
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise BadRequest(
            f"a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
            code="invalid_password",
        )
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("no such tenant")
    taken = session.execute(select(User.id).where(User.email == email)).first()
    if taken is not None:
        raise Conflict(f"a user with the email {email} already exists", code="email_taken")
    user = User(
        tenant_id=tenant_id,
        email=email,
        name=(name or email.split("@")[0]).strip()[:200],
        role=role,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The enabled user with this email and password, or None; always costs one scrypt."""
    email = normalise_email(email)
    user = (
        session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if len(email) <= 320
        else None
    )
    if user is None:
        burn_time(password)
        return None
    ok = verify_password(password, user.password_hash)
    if not ok or user.disabled_at is not None:
        return None
    return user


def disable_user(session: Session, *, tenant_id: uuid.UUID, email: str) -> User:
    """Disable a user of the tenant and end their sessions at once."""
    email = normalise_email(email)
    user = session.execute(
        select(User).where(User.email == email, User.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("no such user")
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def count_users(session: Session) -> int:
    """How many users exist across tenants."""
    return int(session.execute(select(func.count()).select_from(User)).scalar_one())

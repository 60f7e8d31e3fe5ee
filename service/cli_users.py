"""`dealsight user ...`: people who sign in to the pages, and the first local admin."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from service.cli_common import ensure_schema, load_settings, write_private_json
from service.settings import Settings

user_app = typer.Typer(help="People who sign in to the pages.", no_args_is_help=True)


@user_app.command("create")
def user_create(
    tenant: Annotated[str, typer.Option(help="The tenant id the user belongs to.")],
    email: Annotated[str, typer.Option(help="The sign-in email (stored lowercase).")],
    role: Annotated[str, typer.Option(help="manager, enablement or admin.")] = "manager",
    name: Annotated[str | None, typer.Option(help="Display name (default: from the email).")] = (
        None
    ),
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user; the password is prompted for (not echoed) or read from stdin."""
    import uuid

    from service.db import make_engine, make_sessionmaker, session_scope
    from service.errors import ServiceError
    from service.web.users import create_user

    settings = load_settings()
    ensure_schema(settings, auto=False)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        tenant_id = uuid.UUID(tenant)
    except ValueError as exc:
        typer.echo(f"error: not a tenant id: {tenant!r}", err=True)
        raise typer.Exit(2) from exc
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            user = create_user(
                session, tenant_id=tenant_id, email=email, role=role, password=password, name=name
            )
            out = {"user_id": str(user.id), "email": user.email, "role": user.role}
    except ServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(json.dumps(out))


@user_app.command("disable")
def user_disable(
    tenant: Annotated[str, typer.Option(help="The tenant id the user belongs to.")],
    email: Annotated[str, typer.Option(help="The user's email.")],
) -> None:
    """Disable a user and end their sessions at once."""
    import uuid

    from service.db import make_engine, make_sessionmaker, session_scope
    from service.errors import ServiceError
    from service.web.users import disable_user

    settings = load_settings()
    ensure_schema(settings, auto=False)
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            disable_user(session, tenant_id=uuid.UUID(tenant), email=email)
    except (ServiceError, ValueError) as exc:
        typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(f"disabled {email.strip().lower()}")


def first_start_admin(settings: Settings) -> None:
    """On a local install without any user, create an admin for the first tenant (shown once)."""
    from sqlalchemy import select

    from models import Tenant
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.web.passwords import generate_password
    from service.web.users import count_users, create_user

    password = generate_password()
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            if count_users(session) > 0:
                return
            tenant = session.execute(
                select(Tenant).order_by(Tenant.created_at, Tenant.id).limit(1)
            ).scalar_one_or_none()
            if tenant is None:
                return
            user = create_user(
                session,
                tenant_id=tenant.id,
                email="admin@dealsight.local",
                role="admin",
                password=password,
                name="Admin",
            )
            creds = {"tenant_id": str(tenant.id), "email": user.email, "password": password}
    finally:
        engine.dispose()
    creds_file = settings.data_dir / "first-admin.json"
    write_private_json(creds_file, creds)
    bar = "=" * 72
    typer.echo(
        f"\n{bar}\nFirst start: created an admin user (saved to {creds_file}, mode 600)\n"
        f"  sign in at     {settings.public_url}/login\n"
        f"  email          {creds['email']}\n"
        f"  password       {creds['password']}\n"
        f"Add people with `dealsight user create --tenant {creds['tenant_id']} --email ...`\n"
        f"{bar}\n",
        err=True,
    )

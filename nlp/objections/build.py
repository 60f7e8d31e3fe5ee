"""Locating the labelled data and (re)building the objection model when it is missing or stale."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nlp.encoder import bundled_encoder_path
from nlp.objections.data import fingerprint, load_examples
from nlp.objections.train import MODEL_FORMAT, TrainConfig, train_objection_model

MAIN_FILE = "sentences.jsonl"
EXTRA_GLOB = "sentences_extra_*.jsonl"  # train-only additions


def training_files(data_dir: Path) -> list[Path]:
    """The labelled sentence files in data_dir: the main set and any train-only additions."""
    main = data_dir / MAIN_FILE
    if not main.is_file():
        raise FileNotFoundError(f"no labelled sentences in {data_dir} (expected {MAIN_FILE})")
    return [main, *sorted(data_dir.glob(EXTRA_GLOB))]


CATALOGUE_FILE = "competitors.json"


def model_dir_for(root: Path, data_dir: Path, config: TrainConfig) -> Path:
    """The folder a model trained on this data with this config lives in."""
    files = training_files(data_dir) + [data_dir / CATALOGUE_FILE]
    tag = fingerprint(files, str(MODEL_FORMAT), repr(asdict(config)))
    return root / f"objections-{tag}"


def ensure_model(
    root: Path,
    data_dir: Path,
    *,
    config: TrainConfig | None = None,
    force: bool = False,
    progress: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any] | None]:
    """Train unless an up-to-date model exists; returns its folder and the report if trained."""
    cfg = config or TrainConfig()
    folder = model_dir_for(root, data_dir, cfg)
    if (folder / "meta.json").is_file() and not force:
        _point_latest(root, folder)
        return folder, None
    files = training_files(data_dir)
    progress(f"training the objection model on {', '.join(f.name for f in files)} -> {folder}")
    report = train_objection_model(
        load_examples(files),
        base_model=bundled_encoder_path(),
        out_dir=folder,
        config=cfg,
        fingerprint=folder.name.removeprefix("objections-"),
        progress=progress,
    )
    progress("training the competitor context model")
    report["competitor_context"] = _train_context(data_dir, folder)
    _point_latest(root, folder)
    return folder, report


def _point_latest(root: Path, folder: Path) -> None:
    """Make objections-latest name the model of the current data and settings."""
    latest = root / "objections-latest"
    if latest.is_symlink() and latest.readlink() == Path(folder.name):
        return
    tmp = root / f".objections-latest.{folder.name}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(folder.name)
    tmp.replace(latest)  # atomic: a running worker never sees the link missing


def _train_context(data_dir: Path, folder: Path) -> dict[str, Any]:
    """Fit the competitor-context classifier on the train part's labelled mentions."""
    import json

    from nlp.components.competitor_context import FILE_NAME, train_context_model
    from nlp.components.competitors import CatalogueEntry
    from nlp.encoder import SentenceEncoder

    catalogue = [
        CatalogueEntry(c["name"], tuple(c.get("aliases", ())))
        for c in json.loads((data_dir / CATALOGUE_FILE).read_text())
    ]
    rows = [
        (e.text, [dict(c) for c in e.competitors])
        for e in load_examples(training_files(data_dir))
        if e.split == "train" and e.competitors
    ]
    model = train_context_model(rows, catalogue, SentenceEncoder())
    (folder / FILE_NAME).write_text(json.dumps(model) + "\n")
    return {"examples": model["examples"]}

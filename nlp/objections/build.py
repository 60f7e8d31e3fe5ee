"""Locating the labelled data and (re)building the objection model when it is missing or stale."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nlp.encoder import bundled_encoder_path
from nlp.objections.data import fingerprint, load_examples
from nlp.objections.export import EXPORT_VERSION
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


def model_dir_for(
    root: Path, data_dir: Path, config: TrainConfig, base_model: Path | None = None
) -> Path:
    """The folder a model trained on this data with this config (and base encoder) lives in."""
    files = training_files(data_dir) + [data_dir / CATALOGUE_FILE]
    # The bundled encoder adds nothing, so models trained before the option keep their names.
    extra = [] if base_model is None else [str(base_model.resolve())]
    tag = fingerprint(
        files, str(MODEL_FORMAT), f"export {EXPORT_VERSION}", repr(asdict(config)), *extra
    )
    return root / f"objections-{tag}"


def check_base_model(base_model: Path) -> None:
    """Refuse a base encoder folder that transformers could not load, saying what is missing."""
    if not base_model.is_dir():
        raise FileNotFoundError(f"base encoder {base_model} is not a folder")
    missing = [n for n in ("config.json", "tokenizer.json") if not (base_model / n).is_file()]
    if (
        not any(base_model.glob("*.safetensors"))
        and not (base_model / "pytorch_model.bin").is_file()
    ):
        missing.append("weights (*.safetensors or pytorch_model.bin)")
    if missing:
        raise FileNotFoundError(f"base encoder {base_model} lacks {', '.join(missing)}")


def ensure_model(
    root: Path,
    data_dir: Path,
    *,
    config: TrainConfig | None = None,
    base_model: Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] = print,
) -> tuple[Path, dict[str, Any] | None]:
    """Train unless an up-to-date model exists; returns its folder and the report if trained.

    base_model is the encoder to fine-tune; None takes the bundled all-MiniLM-L6-v2.
    """
    cfg = config or TrainConfig()
    if base_model is not None:
        check_base_model(base_model)
    folder = model_dir_for(root, data_dir, cfg, base_model)
    if (folder / "meta.json").is_file() and not force:
        _point_latest(root, folder)
        return folder, None
    files = training_files(data_dir)
    progress(f"training the objection model on {', '.join(f.name for f in files)} -> {folder}")
    report = train_objection_model(
        load_examples(files),
        base_model=str(base_model) if base_model is not None else bundled_encoder_path(),
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

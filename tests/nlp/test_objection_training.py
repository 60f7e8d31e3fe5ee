"""Training a (small) objection model for real: soup choice, int8 export and its cut-offs."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from nlp.cpu_features import cpu_has_vnni
from nlp.encoder import bundled_encoder_path
from nlp.objections import CATEGORIES
from nlp.objections.build import ensure_model, model_dir_for, training_files
from nlp.objections.data import load_examples
from nlp.objections.export import QUANTIZATIONS, choose_quantization
from nlp.objections.model import ObjectionModel
from nlp.objections.scores import label_matrix, macro_f1
from nlp.objections.train import MODEL_FORMAT, TrainConfig, split_pool, train_objection_model

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "insights"


@pytest.mark.slow
def test_small_training_ships_int8_with_cut_offs_that_reproduce_its_dev_score(
    tmp_path: Path,
) -> None:
    examples = load_examples(training_files(DATA))
    random.Random(3).shuffle(examples)
    examples = examples[:500]
    cfg = TrainConfig(epochs=1, members=2)
    out = tmp_path / "model"
    report = train_objection_model(
        examples,
        base_model=bundled_encoder_path(),
        out_dir=out,
        config=cfg,
        progress=lambda _: None,
    )
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "model.onnx", "tokenizer.json"]
    assert report["format"] == MODEL_FORMAT and report["labels"] == list(CATEGORIES)
    assert len(report["members"]) == 2
    # The soup ships only when it beats the best member on dev (float figures).
    best_member = max(m["dev_macro_f1"] for m in report["members"])
    assert report["weights"] == ("soup" if report["soup_dev_macro_f1"] >= best_member else "single")
    # The shipped int8 model with the shipped cut-offs scores exactly what the report says.
    _, dev = split_pool(examples, cfg)
    assert report["dev_sentences"] == len(dev)
    model = ObjectionModel(out)
    probs = model.predict([e.text for e in dev])
    assert probs.shape == (len(dev), len(CATEGORIES))
    assert np.all((probs >= 0) & (probs <= 1))
    score = macro_f1(label_matrix(dev), probs, list(model.thresholds))
    assert score == pytest.approx(report["dev_macro_f1"], abs=1e-4)
    scores = report["quantization_dev_macro_f1"]
    assert sorted(scores) == sorted(name for name, _, _ in QUANTIZATIONS)
    assert report["quantization"] == choose_quantization(scores)
    assert report["dev_macro_f1"] == scores[report["quantization"]]
    assert report["build_cpu_vnni"] == cpu_has_vnni()


def test_a_model_folder_of_another_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text('{"format": 1, "labels": [], "thresholds": []}\n')
    with pytest.raises(ValueError, match="format 1"):
        ObjectionModel(tmp_path)


@pytest.mark.slow
def test_build_fine_tunes_another_base_encoder_into_its_own_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    lines = (DATA / "sentences.jsonl").read_text().splitlines()
    (data / "sentences.jsonl").write_text("\n".join(lines[:300]) + "\n")
    (data / "competitors.json").write_text((DATA / "competitors.json").read_text())
    # Any transformers encoder folder will do; a copy of the bundled one stands in for a
    # larger model a user would point the setting at.
    base = tmp_path / "my-encoder"
    shutil.copytree(bundled_encoder_path(), base)
    cfg = TrainConfig(epochs=1, members=1)
    root = tmp_path / "models"
    folder, report = ensure_model(root, data, config=cfg, base_model=base, progress=lambda _: None)
    assert report is not None and report["base_model"] == "my-encoder"
    assert folder != model_dir_for(root, data, cfg)  # not the bundled encoder's folder
    assert (root / "objections-latest").resolve() == folder.resolve()
    assert ObjectionModel(folder).predict(["that is way over our budget"]).shape == (1, 9)
    again, report = ensure_model(root, data, config=cfg, base_model=base, progress=lambda _: None)
    assert again == folder and report is None  # up to date: not trained twice

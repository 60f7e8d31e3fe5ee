"""Export a fine-tuned objection model to int8 ONNX, with cut-offs tuned on what ships."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.objections.scores import macro_f1, tune_thresholds

# Dynamic int8 weight quantization, one scale per tensor or per output channel.
QUANTIZATIONS = (("per_tensor", False), ("per_channel", True))


def export_onnx(
    model: Any,
    tokenizer: Any,
    base_model: str,
    out_dir: Path,
    report: dict[str, Any],
    dev_texts: Sequence[str],
    y_dev: npt.NDArray[np.bool_],
) -> None:
    """Write model.onnx (int8), tokenizer.json and meta.json atomically into out_dir.

    Quantization moves the probabilities, so the cut-offs the float model was tuned with do
    not fit the int8 one: each quantization is scored on the dev split with cut-offs tuned on
    its own outputs, and the better one ships with those cut-offs.
    """
    from nlp.objections.model import ObjectionModel

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    float_path = tmp / "model.float.onnx"
    _export_float(model, tokenizer, float_path)
    shutil.copy(Path(base_model) / "tokenizer.json", tmp / "tokenizer.json")
    scores: dict[str, float] = {}
    best: tuple[float, str, list[float]] | None = None
    for name, per_channel in QUANTIZATIONS:
        _quantize(float_path, tmp / "model.onnx", per_channel=per_channel)
        (tmp / "meta.json").write_text(json.dumps(report) + "\n")
        probs = ObjectionModel(tmp, threads=2).predict(list(dev_texts))
        thresholds = tune_thresholds(y_dev, probs)
        scores[name] = round(macro_f1(y_dev, probs, thresholds), 4)
        if best is None or scores[name] > best[0]:
            best = (scores[name], name, thresholds)
            (tmp / "model.onnx").replace(tmp / "model.best.onnx")
    assert best is not None
    (tmp / "model.best.onnx").replace(tmp / "model.onnx")
    float_path.unlink()
    report.update(
        thresholds=best[2],
        dev_macro_f1_float=report["dev_macro_f1"],
        dev_macro_f1=best[0],
        quantization=best[1],
        quantization_dev_macro_f1=scores,
    )
    (tmp / "meta.json").write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def _quantize(src: Path, dst: Path, *, per_channel: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel)


def _export_float(model: Any, tokenizer: Any, path: Path) -> None:
    """The model with a sigmoid on top, as float ONNX with dynamic batch and length."""
    import torch

    sample = tokenizer(["an example sentence"], return_tensors="pt")

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return torch.sigmoid(self.inner(input_ids, attention_mask))

    torch.onnx.export(
        Probabilities(),
        (sample["input_ids"], sample["attention_mask"]),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["probabilities"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "probabilities": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )

"""Export a fine-tuned objection model to int8 ONNX, with cut-offs tuned on what ships."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.cpu_features import cpu_has_vnni
from nlp.objections.scores import macro_f1, tune_thresholds

# Dynamic int8 weight quantization, one scale per tensor or per output channel, with 8-bit or
# 7-bit weights. On x86 CPUs without VNNI, ONNX Runtime's u8 x s8 kernels can saturate with
# 8-bit weights, so an 8-bit model tuned on a VNNI machine may score differently on an older
# one (onnxruntime.quantization documents reduce_range for this). 7-bit weights avoid that.
QUANTIZATIONS = (
    ("per_tensor", False, False),
    ("per_channel", True, False),
    ("per_tensor_7bit", False, True),
    ("per_channel_7bit", True, True),
)
# The portable 7-bit weights ship unless 8-bit ones beat them on dev by more than this.
PORTABLE_MARGIN = 0.01
# Part of the model's fingerprint: a change in how the export chooses renames the model folder.
# 2: 7-bit weights preferred; 3: cut-offs tuned on one-sentence runs (ObjectionModel.predict).
EXPORT_VERSION = 3


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
    its own outputs, and the one choose_quantization picks ships with those cut-offs.
    """
    from nlp.objections.model import ObjectionModel

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    float_path = tmp / "model.float.onnx"
    _export_float(model, tokenizer, float_path)
    shutil.copy(Path(base_model) / "tokenizer.json", tmp / "tokenizer.json")
    scores: dict[str, float] = {}
    chosen: dict[str, list[float]] = {}
    for name, per_channel, reduce_range in QUANTIZATIONS:
        _quantize(float_path, tmp / "model.onnx", per_channel, reduce_range)
        (tmp / "meta.json").write_text(json.dumps(report) + "\n")
        probs = ObjectionModel(tmp, threads=2).predict(list(dev_texts))
        chosen[name] = tune_thresholds(y_dev, probs)
        scores[name] = round(macro_f1(y_dev, probs, chosen[name]), 4)
        (tmp / "model.onnx").replace(tmp / f"model.{name}.onnx")
    best = choose_quantization(scores)
    (tmp / f"model.{best}.onnx").replace(tmp / "model.onnx")
    for name, _, _ in QUANTIZATIONS:
        (tmp / f"model.{name}.onnx").unlink(missing_ok=True)
    float_path.unlink()
    report.update(
        thresholds=chosen[best],
        dev_macro_f1_float=report["dev_macro_f1"],
        dev_macro_f1=scores[best],
        quantization=best,
        quantization_dev_macro_f1=scores,
        build_cpu_vnni=cpu_has_vnni(),
    )
    (tmp / "meta.json").write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def portable(quantization: str) -> bool:
    """Whether a quantization has the 7-bit weights that score alike on every x86 CPU."""
    return quantization.endswith("_7bit")


def choose_quantization(scores: dict[str, float]) -> str:
    """The best 7-bit quantization on dev, unless an 8-bit one is better by over the margin."""
    seven = max((n for n in scores if portable(n)), key=lambda n: scores[n])
    eight = max((n for n in scores if not portable(n)), key=lambda n: scores[n])
    return eight if scores[eight] > scores[seven] + PORTABLE_MARGIN else seven


def _quantize(src: Path, dst: Path, per_channel: bool, reduce_range: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        reduce_range=reduce_range,
    )


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

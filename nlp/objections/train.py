"""Fine-tune the MiniLM encoder with a multi-label head, then export it as int8 ONNX."""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.objections import CATEGORIES
from nlp.objections.data import Example

MODEL_FORMAT = 1


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Hyper-parameters, chosen on the train part's own dev split (never on the test part)."""

    epochs: int = 8
    batch_size: int = 16
    lr_encoder: float = 5e-5
    lr_head: float = 3e-3
    max_length: int = 64
    dev_fraction: float = 0.12
    seed: int = 13
    threads: int = 2


def f1(y: npt.NDArray[np.bool_], p: npt.NDArray[np.bool_]) -> float:
    """F1 of one binary label (0 when there are no positives at all)."""
    tp = float(np.sum(y & p))
    denom = float(np.sum(y) + np.sum(p))
    return 2 * tp / denom if denom else 0.0


def label_matrix(examples: Sequence[Example]) -> npt.NDArray[np.bool_]:
    """Examples x categories, True where labelled."""
    return np.array([[c in e.labels for c in CATEGORIES] for e in examples], dtype=bool)


def tune_thresholds(y: npt.NDArray[np.bool_], probs: npt.NDArray[np.float32]) -> list[float]:
    """Per category, the probability cut-off with the best F1 on held-back data."""
    grid = np.linspace(0.1, 0.9, 33)
    out = []
    for k in range(y.shape[1]):
        scores = [f1(y[:, k], probs[:, k] >= t) for t in grid]
        out.append(float(grid[int(np.argmax(scores))]))
    return out


def train_objection_model(
    examples: Sequence[Example],
    *,
    base_model: str,
    out_dir: Path,
    config: TrainConfig | None = None,
    fingerprint: str = "",
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train on customer sentences of the train split and write out_dir; returns the report."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    cfg = config or TrainConfig()
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    pool = [e for e in examples if e.split == "train" and e.speaker == "customer"]
    random.Random(cfg.seed).shuffle(pool)
    n_dev = max(1, int(len(pool) * cfg.dev_fraction))
    dev, train = pool[:n_dev], pool[n_dev:]
    tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=True)
    encoder = AutoModel.from_pretrained(base_model, local_files_only=True)
    model = _Classifier(encoder, len(CATEGORIES))
    optimiser = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": cfg.lr_encoder},
            {"params": model.head.parameters(), "lr": cfg.lr_head},
        ],
        weight_decay=0.01,
    )
    y_train = torch.tensor(label_matrix(train), dtype=torch.float32)
    positives = y_train.sum(0).clamp(min=1)
    # Rare categories weigh more, capped so a handful of examples cannot dominate.
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=((len(train) - positives) / positives).clamp(max=8)
    )

    def batch(texts: list[str]) -> dict[str, Any]:
        return dict(
            tokenizer(
                texts, padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt"
            )
        )

    def predict(rows: Sequence[Example]) -> npt.NDArray[np.float32]:
        model.eval()
        out = []
        with torch.inference_mode():
            for i in range(0, len(rows), 64):
                enc = batch([r.text for r in rows[i : i + 64]])
                out.append(torch.sigmoid(model(enc["input_ids"], enc["attention_mask"])).numpy())
        model.train()
        return np.concatenate(out).astype(np.float32)

    y_dev = label_matrix(dev)
    best: tuple[float, int, dict[str, Any], list[float]] = (-1.0, -1, {}, [])
    history = []
    order = list(range(len(train)))
    for epoch in range(cfg.epochs):
        started = time.monotonic()
        random.Random(cfg.seed + epoch).shuffle(order)
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            enc = batch([train[j].text for j in idx])
            loss = loss_fn(model(enc["input_ids"], enc["attention_mask"]), y_train[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        probs = predict(dev)
        thresholds = tune_thresholds(y_dev, probs)
        macro = float(
            np.mean([f1(y_dev[:, k], probs[:, k] >= thresholds[k]) for k in range(len(CATEGORIES))])
        )
        history.append({"epoch": epoch + 1, "dev_macro_f1": round(macro, 4)})
        progress(
            f"epoch {epoch + 1}/{cfg.epochs}: dev macro-F1 {macro:.3f} "
            f"({time.monotonic() - started:.0f} s)"
        )
        if macro > best[0]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = (macro, epoch + 1, state, thresholds)
    model.load_state_dict(best[2])
    model.eval()
    report = {
        "format": MODEL_FORMAT,
        "labels": list(CATEGORIES),
        "thresholds": best[3],
        "best_epoch": best[1],
        "dev_macro_f1": round(best[0], 4),
        "history": history,
        "train_sentences": len(train),
        "dev_sentences": len(dev),
        "max_length": cfg.max_length,
        "config": asdict(cfg),
        "fingerprint": fingerprint,
        "base_model": Path(base_model).name,
    }
    _export(model, tokenizer, base_model, out_dir, report)
    return report


class _Classifier:
    """Encoder + mean pooling + linear head (a plain torch.nn.Module built lazily)."""

    def __new__(cls, encoder: Any, n_labels: int) -> Any:  # noqa: D102 - factory
        import torch

        class Classifier(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder = encoder
                self.head = torch.nn.Linear(encoder.config.hidden_size, n_labels)

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                hidden = self.encoder(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=torch.zeros_like(input_ids),
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return self.head(torch.nn.functional.normalize(pooled, dim=-1))

        return Classifier()


def _export(
    model: Any, tokenizer: Any, base_model: str, out_dir: Path, report: dict[str, Any]
) -> None:
    """Write model.onnx (int8), tokenizer.json and meta.json atomically into out_dir."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sample = tokenizer(["an example sentence"], return_tensors="pt")

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return torch.sigmoid(self.inner(input_ids, attention_mask))

    float_path = tmp / "model.float.onnx"
    torch.onnx.export(
        Probabilities(),
        (sample["input_ids"], sample["attention_mask"]),
        str(float_path),
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
    quantize_dynamic(str(float_path), str(tmp / "model.onnx"), weight_type=QuantType.QInt8)
    float_path.unlink()
    shutil.copy(Path(base_model) / "tokenizer.json", tmp / "tokenizer.json")
    (tmp / "meta.json").write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)

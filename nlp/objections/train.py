"""Fine-tune the MiniLM encoder with a multi-label head, then export it as int8 ONNX."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.objections import CATEGORIES
from nlp.objections.data import Example
from nlp.objections.export import export_onnx
from nlp.objections.scores import label_matrix, macro_f1, tune_thresholds

MODEL_FORMAT = 2  # 2: cut-offs tuned on the int8 outputs


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
    # Members averaged into one set of weights; 1 trains a single model.
    members: int = 3


def split_pool(
    examples: Sequence[Example], cfg: TrainConfig
) -> tuple[list[Example], list[Example]]:
    """The customer sentences of the train part, as (train, dev): a seeded random split."""
    pool = [e for e in examples if e.split == "train" and e.speaker == "customer"]
    random.Random(cfg.seed).shuffle(pool)
    n_dev = max(1, int(len(pool) * cfg.dev_fraction))
    return pool[n_dev:], pool[:n_dev]


def train_objection_model(
    examples: Sequence[Example],
    *,
    base_model: str,
    out_dir: Path,
    config: TrainConfig | None = None,
    fingerprint: str = "",
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train on customer sentences of the train split and write out_dir; returns the report.

    Several members are fine-tuned from the same starting weights, differing only in data
    order and dropout; their weights are averaged (a "model soup", one model's inference
    cost) and the soup is kept when it beats the best member on the dev split.
    """
    import torch
    from transformers import AutoTokenizer

    cfg = config or TrainConfig()
    torch.set_num_threads(cfg.threads)
    train, dev = split_pool(examples, cfg)
    tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=True)
    run = _Run(cfg, tokenizer, base_model, train, dev)
    members = []
    for m in range(cfg.members):
        tag = f"member {m + 1}/{cfg.members}" if cfg.members > 1 else "model"
        members.append(run.fine_tune(cfg.seed + 101 * m, progress, tag))
    best_member = max(members, key=lambda r: r.dev_macro_f1)
    chosen, kind = best_member, "single"
    soup_f1: float | None = None
    if len(members) > 1:
        soup = run.evaluate(_average([r.state for r in members]))
        soup_f1 = soup.dev_macro_f1
        progress(
            f"soup of {len(members)}: dev macro-F1 {soup_f1:.3f} "
            f"(best member {best_member.dev_macro_f1:.3f})"
        )
        if soup_f1 >= best_member.dev_macro_f1:
            chosen, kind = soup, "soup"
    run.model.load_state_dict(chosen.state)
    run.model.eval()
    report = {
        "format": MODEL_FORMAT,
        "labels": list(CATEGORIES),
        "thresholds": chosen.thresholds,
        "weights": kind,
        "dev_macro_f1": round(chosen.dev_macro_f1, 4),
        "members": [
            {
                "best_epoch": r.best_epoch,
                "dev_macro_f1": round(r.dev_macro_f1, 4),
                "history": r.history,
            }
            for r in members
        ],
        "soup_dev_macro_f1": None if soup_f1 is None else round(soup_f1, 4),
        "train_sentences": len(train),
        "dev_sentences": len(dev),
        "max_length": cfg.max_length,
        "config": asdict(cfg),
        "fingerprint": fingerprint,
        "base_model": Path(base_model).name,
    }
    export_onnx(run.model, tokenizer, base_model, out_dir, report, [e.text for e in dev], run.y_dev)
    return report


@dataclass
class _Result:
    """A set of weights with its dev figures."""

    state: dict[str, Any]
    thresholds: list[float]
    dev_macro_f1: float
    best_epoch: int = 0
    history: list[dict[str, float]] | None = None


def _average(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The element-wise mean of state dicts of one architecture (integer buffers kept)."""
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = sum(s[key] for s in states) / len(states)
        else:
            out[key] = first.clone()
    return out


class _Run:
    """The shared pieces of one training: data, tokenizer, and the model being tuned."""

    def __init__(
        self,
        cfg: TrainConfig,
        tokenizer: Any,
        base_model: str,
        train: Sequence[Example],
        dev: Sequence[Example],
    ) -> None:
        import torch

        self.cfg, self.tokenizer, self.base_model = cfg, tokenizer, base_model
        self.train, self.dev = list(train), list(dev)
        self.y_train = torch.tensor(label_matrix(self.train), dtype=torch.float32)
        self.y_dev = label_matrix(self.dev)
        positives = self.y_train.sum(0).clamp(min=1)
        # Rare categories weigh more, capped so a handful of examples cannot dominate.
        self.loss_fn = torch.nn.BCEWithLogitsLoss(
            pos_weight=((len(self.train) - positives) / positives).clamp(max=8)
        )
        self.model: Any = None

    def _fresh_model(self) -> Any:
        import torch
        from transformers import AutoModel

        # Every member starts from the same weights (head included): averaging needs that.
        torch.manual_seed(self.cfg.seed)
        encoder = AutoModel.from_pretrained(self.base_model, local_files_only=True)
        return _Classifier(encoder, len(CATEGORIES))

    def _batch(self, texts: list[str]) -> dict[str, Any]:
        enc = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.cfg.max_length,
            return_tensors="pt",
        )
        return dict(enc)

    def _predict(self) -> npt.NDArray[np.float32]:
        import torch

        self.model.eval()
        out = []
        with torch.inference_mode():
            for i in range(0, len(self.dev), 64):
                enc = self._batch([r.text for r in self.dev[i : i + 64]])
                logits = self.model(enc["input_ids"], enc["attention_mask"])
                out.append(torch.sigmoid(logits).numpy())
        self.model.train()
        return np.concatenate(out).astype(np.float32)

    def _score(self) -> tuple[float, list[float]]:
        probs = self._predict()
        thresholds = tune_thresholds(self.y_dev, probs)
        return macro_f1(self.y_dev, probs, thresholds), thresholds

    def evaluate(self, state: dict[str, Any]) -> _Result:
        """Dev figures of given weights, with thresholds tuned for them."""
        if self.model is None:
            self.model = self._fresh_model()
        self.model.load_state_dict(state)
        macro, thresholds = self._score()
        return _Result(state, thresholds, macro)

    def fine_tune(self, seed: int, progress: Callable[[str], None], tag: str) -> _Result:
        """Fine-tune one member; its best epoch on the dev split."""
        import torch

        cfg = self.cfg
        self.model = self._fresh_model()
        torch.manual_seed(seed)  # dropout differs between members
        optimiser = torch.optim.AdamW(
            [
                {"params": self.model.encoder.parameters(), "lr": cfg.lr_encoder},
                {"params": self.model.head.parameters(), "lr": cfg.lr_head},
            ],
            weight_decay=0.01,
        )
        best = _Result({}, [], -1.0)
        history: list[dict[str, float]] = []
        order = list(range(len(self.train)))
        for epoch in range(cfg.epochs):
            started = time.monotonic()
            random.Random(seed + epoch).shuffle(order)
            for i in range(0, len(order), cfg.batch_size):
                idx = order[i : i + cfg.batch_size]
                enc = self._batch([self.train[j].text for j in idx])
                logits = self.model(enc["input_ids"], enc["attention_mask"])
                loss = self.loss_fn(logits, self.y_train[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            macro, thresholds = self._score()
            history.append({"epoch": epoch + 1, "dev_macro_f1": round(macro, 4)})
            progress(
                f"{tag}: epoch {epoch + 1}/{cfg.epochs}: dev macro-F1 {macro:.3f} "
                f"({time.monotonic() - started:.0f} s)"
            )
            if macro > best.dev_macro_f1:
                state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                best = _Result(state, thresholds, macro, epoch + 1)
        best.history = history
        return best


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

"""Inference with a trained objection model (int8 ONNX): probabilities per category."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlp.cpu_features import cpu_has_vnni
from nlp.objections.train import MODEL_FORMAT


class ObjectionModel:
    """Loads model.onnx, tokenizer.json and meta.json from a folder written by training."""

    def __init__(self, folder: Path, *, threads: int = 1, batch_size: int = 64) -> None:
        self.folder = folder
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"no trained objection model in {folder}: run `dealsight models build`"
            )
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format") != MODEL_FORMAT:
            raise ValueError(
                f"{folder} holds model format {self.meta.get('format')}, need {MODEL_FORMAT}"
            )
        self.labels: list[str] = list(self.meta["labels"])
        self.thresholds = np.array(self.meta["thresholds"], dtype=np.float32)

    @property
    def version(self) -> str:
        """Identifies the trained weights (the data and settings fingerprint)."""
        return str(self.meta.get("fingerprint") or "unversioned")

    def cpu_mismatch(self) -> str | None:
        """Why this model's scores may differ here: 8-bit weights built on the other kind of CPU."""
        built = self.meta.get("build_cpu_vnni")
        here = cpu_has_vnni()
        quantization = str(self.meta.get("quantization", ""))
        if built is None or here is None or built == here or quantization.endswith("_7bit"):
            return None
        kinds = {True: "with", False: "without"}
        return (
            f"objection model {self.folder.name} has 8-bit weights built on a CPU {kinds[built]} "
            f"VNNI and runs on one {kinds[here]}: int8 results can differ, so its cut-offs may "
            "not fit; run `dealsight models build --force` on this machine"
        )

    def initialize(self) -> None:
        """Open the ONNX session and tokenizer (once)."""
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tok.enable_truncation(max_length=int(self.meta.get("max_length", 64)))
            tok.enable_padding()
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            self._session = ort.InferenceSession(
                str(self.folder / "model.onnx"), opts, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tok

    def predict(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Probabilities, shape (len(texts), len(labels))."""
        self.initialize()
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = []
        for k in range(0, len(order), self.batch_size):
            batch = [texts[i] for i in order[k : k + self.batch_size]]
            enc = self._tokenizer.encode_batch(batch)
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            parts.append(np.asarray(out, dtype=np.float32))
        stacked = np.concatenate(parts)
        result = np.empty_like(stacked)
        result[np.array(order)] = stacked
        return result

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
from nlp.objections.export import portable
from nlp.objections.train import MODEL_FORMAT


class ObjectionModel:
    """Loads model.onnx, tokenizer.json and meta.json from a folder written by training."""

    def __init__(self, folder: Path, *, threads: int = 1) -> None:
        self.folder = folder
        self.threads = threads
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
        if built is None or here is None or built == here or portable(quantization):
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
            tok.no_padding()  # tokenizer.json may pad to a fixed length; one sentence needs none
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            self._session = ort.InferenceSession(
                str(self.folder / "model.onnx"), opts, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tok

    def predict(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Probabilities, shape (len(texts), len(labels)), each sentence scored on its own.

        Dynamic int8 quantization scales the activations by the range of the whole input
        tensor, so in a batch a sentence's probabilities would depend on its batch-mates (by up
        to 0.28 on part D's sentences). One sentence per run keeps every score reproducible
        whatever else is analysed with it; no padding is computed, so it costs only 13-19% of
        the model's batched throughput.
        """
        self.initialize()
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for i, enc in enumerate(self._tokenizer.encode_batch(list(texts))):
            ids = np.array([enc.ids], dtype=np.int64)
            mask = np.array([enc.attention_mask], dtype=np.int64)
            out[i] = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0][0]
        return out

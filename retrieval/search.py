"""Hybrid search over one corpus snapshot: BM25 and FAISS scores fused per passage."""

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from embeddings import Encoder
from retrieval.documents import Report
from retrieval.figures import Figure, extract_figures
from retrieval.fusion import fuse
from retrieval.lexical import BM25
from retrieval.store import Corpus
from retrieval.tokenize import Tokenizer

_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")


def sentences(text: str) -> list[str]:
    """Sentences (and semicolon clauses) of a passage, punctuation kept."""
    return [s for s in (m.group().strip() for m in _SENTENCE.finditer(text)) if s]


@dataclass(frozen=True)
class Hit:
    row: int
    score: float


class Searcher:
    """Everything a question needs, built once per corpus version and shared by all threads."""

    def __init__(self, corpus: Corpus, encoder: Encoder, tokenizer: Tokenizer) -> None:
        self.corpus = corpus
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.bm25 = BM25(corpus.terms)
        # One question is ranked within several reports: embed and BM25-score its text once.
        self._query = functools.lru_cache(maxsize=8)(self._score_all)
        self.figures = functools.cache(self._figures)
        rows: dict[str, list[int]] = {doc_id: [] for doc_id in corpus.reports}
        for row, passage in enumerate(corpus.passages):  # one pass, however many reports
            rows[passage.doc_id].append(row)
        self._rows = {doc_id: np.array(found, dtype=np.int64) for doc_id, found in rows.items()}

    @property
    def reports(self) -> list[Report]:
        return sorted(self.corpus.reports.values(), key=lambda r: (r.town, r.year))

    def rows(self, reports: Iterable[Report]) -> np.ndarray:
        """Passage rows of ``reports``, in reading order."""
        parts = [self._rows[r.doc_id] for r in reports]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def idf(self, term: str) -> float:
        return self.bm25.idf(term)

    def _figures(self, row: int) -> tuple[tuple[str, tuple[Figure, ...]], ...]:
        """Each sentence of passage ``row`` with its figures (extracted once, on first use)."""
        return tuple((s, tuple(extract_figures(s))) for s in sentences(self.corpus.passages[row].text))

    def _score_all(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(BM25, cosine) of every passage for ``text``."""
        vector = self.encoder.encode_queries([text])[0]
        dense_rows, sims = self.corpus.dense.scores(vector)
        dense = np.zeros(len(self.corpus.passages), np.float32)
        dense[dense_rows] = sims
        return self.bm25.scores(self.tokenizer.index_terms(text)), dense

    def rank(self, text: str, rows: np.ndarray, *, lexical: bool = True) -> list[Hit]:
        """``rows`` ranked for ``text``, best first, with fused scores in [0, 1]."""
        if len(rows) == 0:
            return []
        lex, dense = self._query(text)
        fused = fuse(lex[rows] if lexical else np.zeros(len(rows), np.float32), dense[rows])
        order = np.argsort(-fused, kind="stable")
        return [Hit(int(rows[i]), float(fused[i])) for i in order]

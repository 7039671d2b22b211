"""Hybrid search over one corpus snapshot: BM25 and FAISS scores fused per passage."""

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from embeddings import Encoder
from retrieval.decision import Decision
from retrieval.documents import Report
from retrieval.fusion import fuse
from retrieval.ledger import Ledger
from retrieval.lexical import BM25
from retrieval.store import Corpus
from retrieval.tokenize import Tokenizer


@dataclass(frozen=True)
class Hit:
    row: int
    score: float


class Searcher:
    """Everything a question needs, built once per corpus version and shared by all threads."""

    def __init__(self, corpus: Corpus, encoder: Encoder, tokenizer: Tokenizer, ledger: Ledger,
                 decision: Decision) -> None:
        self.corpus = corpus
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.ledger = ledger
        self.decision = decision
        self.bm25 = BM25(corpus.terms)
        # One question is ranked within several reports: embed and BM25-score its text once.
        self._query = functools.lru_cache(maxsize=8)(self._score_all)
        self.query_vector = functools.lru_cache(maxsize=8)(self._query_vector)
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

    def _query_vector(self, text: str) -> np.ndarray:
        return self.encoder.encode_queries([text])[0]

    def passage_similarity(self, text: str) -> np.ndarray:
        """Cosine of every passage with ``text``."""
        return self._query(text)[1]

    def _score_all(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(BM25, cosine) of every passage for ``text``."""
        vector = self.query_vector(text)
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

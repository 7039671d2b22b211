"""Hybrid search over one store snapshot: BM25 and dense scores fused per passage.

``candidates`` is the one call a question needs: the top k passages of each retriever within the filter
(reports, towns, years), fused. ``rank`` scores given rows (the passages of one report) the same way.
"""

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from embeddings import Encoder
from retrieval.answers.decide.decision import Decision
from retrieval.answers.decide.ledger import Ledger, sentences
from retrieval.reports.documents import Report
from retrieval.search.fusion import fuse
from retrieval.search.tokenize import Tokenizer
from retrieval.store import Snapshot

__all__ = ["CANDIDATES", "Hit", "Searcher", "sentences"]
CANDIDATES = 50


@dataclass(frozen=True)
class Hit:
    row: int
    score: float


class Vocabulary:
    """``term in searcher.bm25``: whether any live passage has the term."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._snapshot.has_term(term)


class Searcher:
    """Everything a question needs, built once per snapshot and shared by all threads."""

    def __init__(self, corpus: Snapshot, encoder: Encoder, tokenizer: Tokenizer, ledger: Ledger,
                 decision: Decision) -> None:
        self.corpus = corpus
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.ledger = ledger
        self.decision = decision
        self.bm25 = Vocabulary(corpus)
        self.reports = sorted(corpus.reports.values(), key=lambda r: (r.town, r.year))
        self._by_town: dict[str, list[Report]] = {}
        for report in self.reports:
            self._by_town.setdefault(report.town, []).append(report)
        # One question is ranked within several reports: embed and tokenise its text once.
        self._query = functools.lru_cache(maxsize=32)(self._embed)

    @functools.cached_property
    def towns(self) -> list[str]:
        """The units of the corpus, sorted (read by every question: made once per snapshot)."""
        return sorted(self._by_town)

    @functools.cached_property
    def labels(self) -> tuple[tuple[str, ...], dict[str, int]]:
        """The reports' labels in their order and each doc id's place (a comparison lists thousands of them:
        made once per snapshot)."""
        return tuple(r.label for r in self.reports), {r.doc_id: i for i, r in enumerate(self.reports)}

    def units(self, reports: Sequence[Report]) -> int:
        """How many units ``reports`` are of (all of them: counted once per snapshot)."""
        return len(self._by_town) if len(reports) == len(self.reports) else len({r.town for r in reports})

    def of_towns(self, towns: Collection[str]) -> list[Report]:
        """The reports of these units, in the order of ``reports`` (by unit and year), looked up, not filtered."""
        found = (r for town in set(towns) for r in self._by_town.get(town, ()))
        return sorted(found, key=lambda r: (r.town, r.year))

    def rows(self, reports: Iterable[Report]) -> np.ndarray:
        """Passage rows of ``reports``, in reading order."""
        return self.corpus.rows(r.doc_id for r in reports)

    def idf(self, term: str) -> float:
        return self.corpus.idf(term)

    def query_vector(self, text: str) -> np.ndarray:
        return self._query(text)[0]

    def passage_similarity(self, text: str, rows: np.ndarray) -> np.ndarray:
        """Cosine of each passage of ``rows`` with ``text``."""
        return self.corpus.dense_scores(self.query_vector(text), rows)

    def _embed(self, text: str) -> tuple[np.ndarray, tuple[str, ...]]:
        return self.encoder.encode_queries([text])[0], tuple(self.tokenizer.index_terms(text))

    def rank(self, text: str, rows: np.ndarray, *, lexical: bool = True) -> list[Hit]:
        """``rows`` ranked for ``text``, best first, with fused scores in [0, 1]."""
        if len(rows) == 0:
            return []
        vector, terms = self._query(text)
        lex = self.corpus.lexical_scores(terms, rows) if lexical else np.zeros(len(rows), np.float32)
        return _ranked(rows, lex, self.corpus.dense_scores(vector, rows))

    def rank_each(self, text: str, reports: Iterable[Report]) -> dict[str, list[Hit]]:
        """Each report's passages ranked for ``text`` (as ``rank`` ranks them, report by report), scored in one
        BM25 and one dense pass over all their rows."""
        parts = {r.doc_id: self.rows([r]) for r in reports}
        rows = np.concatenate(list(parts.values())) if parts else np.empty(0, np.int64)
        if len(rows) == 0:
            return {doc_id: [] for doc_id in parts}
        vector, terms = self._query(text)
        lex, den = self.corpus.lexical_scores(terms, rows), self.corpus.dense_scores(vector, rows)
        ranked, start = {}, 0
        for doc_id, own in parts.items():
            end = start + len(own)
            ranked[doc_id] = _ranked(own, lex[start:end], den[start:end])
            start = end
        return ranked

    def filter_rows(self, doc_ids: Collection[str] | None = None, towns: Collection[str] | None = None,
                    years: Collection[int] | None = None) -> np.ndarray | None:
        """The rows the filters allow (None: no filter, every row)."""
        if doc_ids is None and towns is None and years is None:
            return None
        pool = self.reports if towns is None else [r for t in towns for r in self._by_town.get(t, ())]
        chosen = [r.doc_id for r in pool
                  if (doc_ids is None or r.doc_id in doc_ids) and (years is None or r.year in years)]
        return np.sort(self.corpus.rows(chosen))

    def candidates(self, text: str, k: int = CANDIDATES, *, doc_ids: Collection[str] | None = None,
                   towns: Collection[str] | None = None, years: Collection[int] | None = None,
                   lexical: bool = True) -> list[Hit]:
        """The best ``k`` passages for ``text`` within the filters: each retriever's top k (one call each),
        fused over their union, best first."""
        allowed = self.filter_rows(doc_ids, towns, years)
        if allowed is not None and len(allowed) == 0:
            return []
        vector, terms = self._query(text)
        found = self.corpus.dense_top(vector, k, allowed)
        if lexical:
            found = np.union1d(found, self.corpus.lexical_top(terms, k, allowed))
        hits = self.rank(text, np.sort(found).astype(np.int64), lexical=lexical)[:k]
        prefetch = getattr(self.corpus.passages, "prefetch", None)
        if prefetch is not None:  # the caller reads every candidate: one query instead of k
            prefetch(h.row for h in hits)
        return hits


def _ranked(rows: np.ndarray, lexical: np.ndarray, dense: np.ndarray) -> list[Hit]:
    """``rows`` best first by their fused scores."""
    if len(rows) == 0:
        return []
    fused = fuse(lexical, dense)
    order = np.argsort(-fused, kind="stable")
    return list(map(Hit, rows[order].tolist(), fused[order].tolist()))

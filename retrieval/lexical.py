"""BM25 over jieba terms (Okapi, k1=1.5, b=0.75), built from the persisted token lists at load."""

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


class BM25:
    """Postings as numpy arrays per term; ``scores`` is one vectorised pass over the query's terms."""

    def __init__(self, docs: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.size = len(docs)
        lengths = np.array([len(doc) for doc in docs], dtype=np.float32)
        avg = float(lengths.mean()) if self.size else 1.0
        norm = k1 * (1 - b + b * lengths / max(avg, 1e-9))
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        for doc_id, doc in enumerate(docs):
            for term in doc:
                postings[term][doc_id] = postings[term].get(doc_id, 0) + 1
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, counts in postings.items():
            ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            idf = np.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            self._postings[term] = (ids, (idf * tf * (k1 + 1) / (tf + norm[ids])).astype(np.float32))

    def idf(self, term: str) -> float:
        """Inverse document frequency; an unseen term gets the highest."""
        ids = self._postings.get(term, (np.empty(0),))[0]
        return float(np.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5)))

    def __contains__(self, term: str) -> bool:
        return term in self._postings

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for ``terms``."""
        out = np.zeros(self.size, dtype=np.float32)
        for term in terms:
            hit = self._postings.get(term)
            if hit is not None:
                np.add.at(out, hit[0], hit[1])
        return out

"""Dense passage vectors in a FAISS inner-product index (vectors are L2-normalised: cosine)."""

from pathlib import Path

import faiss
import numpy as np


class DenseIndex:
    """A flat FAISS index; row ``i`` is passage ``i``."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> "DenseIndex":
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def vectors(self) -> np.ndarray:
        """All stored vectors, for carrying them into a new index without re-embedding."""
        return self._index.reconstruct_n(0, len(self)) if len(self) else np.zeros((0, self.dim), np.float32)

    def scores(self, query: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosine) of the passages nearest ``query``: all rows, or only ``rows``, best first."""
        k = len(self) if rows is None else len(rows)
        if k == 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        params = None if rows is None else faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows.astype(np.int64)))
        sims, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], sims[0][keep]

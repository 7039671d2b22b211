"""A read-only view of one commit of the embedded store: opened in milliseconds, whatever the size.

Opening reads the report table, the vocabulary of the base BM25 segment and the small segments of later
writes; vectors, lengths, postings and the IVF index are memory-mapped; passage text is read from SQLite
on first use (and kept in a bounded cache).
"""

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from retrieval.reports.documents import Passage, Report
from retrieval.search import dense, lexical
from retrieval.store import FigureRow, LedgerRecord, Origin
from retrieval.store.schema import name, passage_at, read_ledgers, read_meta, stored_reports

EXACT_MAX_ROWS = 50_000  # a filter that leaves fewer rows than this is searched exactly
_CACHED_PASSAGES = 20_000


class PassageTable:
    """``table[row]`` → the passage, read from SQLite once and cached."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, Passage] = OrderedDict()

    def prefetch(self, rows: Iterable[int]) -> None:
        """Read the passages of ``rows`` not yet cached in one query (the candidates of a question)."""
        with self._lock:
            missing = sorted({int(r) for r in rows} - self._cache.keys())
        if not missing:
            return
        marks = ",".join("?" * len(missing))
        found = self._con.execute(f"SELECT row, doc_id, section, text FROM passages WHERE row IN ({marks})",  # noqa: S608
                                  missing).fetchall()
        with self._lock:
            for row, doc_id, section, text in found:
                self._cache[row] = Passage(doc_id, tuple(json.loads(section)), text)
            while len(self._cache) > _CACHED_PASSAGES:
                self._cache.popitem(last=False)

    def __getitem__(self, row: int) -> Passage:
        row = int(row)
        with self._lock:
            found = self._cache.get(row)
            if found is None:
                found = self._cache[row] = passage_at(self._con, row)
                if len(self._cache) > _CACHED_PASSAGES:
                    self._cache.popitem(last=False)
            return found


class RowsAndTerms:
    """What every snapshot computes alike from its reports' row ranges and its BM25 postings."""

    ranges: dict[str, tuple[int, int]]
    bm25: lexical.BM25

    def rows(self, doc_ids: Iterable[str]) -> np.ndarray:
        parts = [np.arange(first, first + count) for first, count in (self.ranges[d] for d in doc_ids)]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def idf(self, term: str) -> float:
        return self.bm25.idf(term)

    def has_term(self, term: str) -> bool:
        return term in self.bm25

    def lexical_scores(self, terms: Sequence[str], rows: np.ndarray) -> np.ndarray:
        return self.bm25.scores(terms, rows)


@dataclass
class EmbeddedSnapshot(RowsAndTerms):
    version: str
    model: str
    dim: int
    reports: dict[str, Report]
    origins: dict[str, Origin]
    passages: PassageTable
    ranges: dict[str, tuple[int, int]]
    alive: np.ndarray
    vectors: np.ndarray
    bm25: lexical.BM25
    ann: faiss.Index | None
    con: sqlite3.Connection

    @classmethod
    def open(cls, folder: Path, con: sqlite3.Connection) -> "EmbeddedSnapshot":
        con.execute("BEGIN")  # one consistent read of the tables
        try:
            meta = read_meta(con)
            stored = list(stored_reports(con))
            tails = [lexical.from_bytes(blob) for (blob,) in con.execute(
                "SELECT postings FROM segments WHERE first_row >= ? ORDER BY first_row", (int(meta["base_rows"]),))]
        finally:
            con.execute("COMMIT")
        rows, dim = int(meta["rows"]), int(meta["dim"])
        alive = np.zeros(rows, bool)
        for _, _, first, count in stored:
            alive[first:first + count] = True
        lengths = dense.open_vectors(folder / name("lengths", meta), rows, 1).view(np.int32)[:, 0]
        segments = ([lexical.load(folder / meta["base"])] if meta.get("base") else []) + tails
        ann = dense.load_ann(folder / meta["ann"]) if meta.get("ann") else None
        return cls(
            version=f"g{meta['generation']}", model=meta["model"], dim=dim,
            reports={r.doc_id: r for r, _, _, _ in stored}, origins={r.doc_id: o for r, o, _, _ in stored},
            passages=PassageTable(con), ranges={r.doc_id: (first, count) for r, _, first, count in stored},
            alive=alive, vectors=dense.open_vectors(folder / name("vectors", meta), rows, dim),
            bm25=lexical.BM25(segments, lengths.astype(np.float32), alive), ann=ann, con=con)

    def __len__(self) -> int:
        return int(self.alive.sum())

    def lexical_top(self, terms: Sequence[str], k: int, rows: np.ndarray | None) -> np.ndarray:
        return self.bm25.top(terms, k, rows)

    def dense_scores(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return dense.exact_scores(self.vectors, vector, rows)

    def dense_top(self, vector: np.ndarray, k: int, rows: np.ndarray | None) -> np.ndarray:
        if self.ann is None or (rows is not None and len(rows) <= EXACT_MAX_ROWS):
            return dense.exact_top(self.vectors, vector, k, np.flatnonzero(self.alive) if rows is None else rows)
        allowed = None
        if rows is not None:
            allowed = np.zeros(len(self.alive), bool)
            allowed[rows] = True
        found = dense.ann_top(self.ann, self.vectors, vector, k, self.alive, allowed)
        tail = np.arange(self.ann.ntotal, len(self.alive))
        tail = tail[self.alive[tail] & (True if allowed is None else allowed[tail])]
        return dense.exact_top(self.vectors, vector, k, np.concatenate([found, tail])) if len(tail) else found

    def stored_terms(self, rows: np.ndarray) -> list[list[str]]:
        found = dict(self.con.execute("SELECT row, terms FROM passages WHERE row BETWEEN ? AND ?",
                                      (int(rows.min()), int(rows.max()))).fetchall()) if len(rows) else {}
        return [found[int(r)].split(" ") if found[int(r)] else [] for r in rows]

    def figure_rows(self, doc_id: str) -> list[FigureRow]:
        return self.ledger_records([doc_id])[doc_id].rows

    def ledger_records(self, doc_ids: Iterable[str]) -> dict[str, LedgerRecord]:
        """One query for all of them (a record is written with its report: every live report has one)."""
        wanted = {self.ranges[d][0]: d for d in doc_ids}
        found = read_ledgers(self.con, wanted, self.dim)
        return {wanted[first]: record for first, record in found.items()}

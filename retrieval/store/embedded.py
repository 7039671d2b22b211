"""The embedded store: one folder, nothing to start.

    <dir>/store.sqlite      reports, passages (text, section, terms), figure rows, BM25 segments of later
                            writes, and ``meta`` (format, model, dimension, committed rows, derived files)
    <dir>/vectors-E.f32     append-only passage vectors, row i at i·dim·4 (E: epoch, new on a model change)
    <dir>/lengths-E.i32     append-only number of BM25 terms per row
    <dir>/postings-G/       the base BM25 segment (memory-mapped), rows [0, base_rows)
    <dir>/ann-G.faiss       IVF index over rows [0, ann_rows) once the corpus is large
    <dir>/.lock             flock held by the one writer

A write appends vectors and lengths past the committed rows (fsync), then commits everything else in one
SQLite transaction (WAL), which is the moment the new state exists: a writer killed before it leaves
bytes past the committed rows that no reader maps and the next writer cuts. Readers see the last commit.
Files no longer referenced by the last two commits are deleted by the next writer.
"""

import json
import shutil
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, closing
from pathlib import Path

import numpy as np

from retrieval.reports.figures import EXTRACTION
from retrieval.search import dense, lexical
from retrieval.store import LOCK_TIMEOUT_S, FigureMaker, LedgerVectors, NewReport, file_lock
from retrieval.store.compaction import compact
from retrieval.store.migration import migrate
from retrieval.store.schema import (
    DB,
    FORMAT,
    SCHEMA,
    commit_meta,
    connect,
    name,
    read_meta,
    write_ledger,
)
from retrieval.store.snapshot import EmbeddedSnapshot


class EmbeddedStore:
    """SQLite + files in one folder (see the module docstring)."""

    lock_timeout = LOCK_TIMEOUT_S

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._con: sqlite3.Connection | None = None
        self._guard = threading.Lock()

    def _connection(self) -> sqlite3.Connection | None:
        if self._con is None and (self.folder / DB).exists():
            self._con = connect(self.folder / DB)
        return self._con

    def version(self) -> str | None:
        with self._guard:
            con = self._connection()
            meta = read_meta(con) if con is not None else {}
        if meta.get("format") != str(FORMAT) or meta.get("extraction") != EXTRACTION or "generation" not in meta:
            return None  # empty, or of an earlier format or extraction (``migrate`` brings it up to date)
        return f"g{meta['generation']}"

    def snapshot(self) -> EmbeddedSnapshot | None:
        if self.version() is None:
            return None
        return EmbeddedSnapshot.open(self.folder, connect(self.folder / DB))

    def lock(self, timeout: float | None = None) -> AbstractContextManager[None]:
        return file_lock(self.folder, self.lock_timeout if timeout is None else timeout)

    def migrate(self, figures: FigureMaker, vectors: LedgerVectors | None = None) -> bool:
        """A store of format 2 or 3, or of an earlier extraction, brought up to date in one transaction (see
        ``migration``)."""
        if not (self.folder / DB).exists():
            return False
        with closing(connect(self.folder / DB)) as con:
            return migrate(con, figures, vectors)

    def write(self, *, model: str, dim: int, add: Sequence[NewReport] = (), drop: Sequence[str] = (),
              compacting: bool = True) -> str:
        """Commit ``add`` and the removal of ``drop`` (the caller holds the lock); then, when the later
        writes have grown large, merge them into the base segment and the IVF index (a second commit)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with closing(connect(self.folder / DB)) as con:
            con.executescript(SCHEMA)
            meta = read_meta(con)
            fresh = meta.get("format") != str(FORMAT) or meta.get("extraction") != EXTRACTION or \
                meta.get("model") != model or meta.get("dim") != str(dim)
            if fresh:
                epoch = int(meta.get("epoch", 0)) + 1
                meta = {"format": str(FORMAT), "extraction": EXTRACTION, "model": model, "dim": str(dim),
                        "epoch": str(epoch), "rows": "0",
                        "generation": meta.get("generation", "0"), "base": "", "base_rows": "0", "ann": "",
                        "ann_rows": "0", "files": meta.get("files", "[]")}
            generation = int(meta["generation"]) + 1
            first = int(meta["rows"])
            vectors = np.vstack([r.vectors for r in add]) if add else np.zeros((0, dim), np.float32)
            lengths = np.array([len(t) for r in add for t in r.terms], np.int32)
            dense.append_vectors(self.folder / name("vectors", meta), first, vectors)
            _append_lengths(self.folder / name("lengths", meta), first, lengths)
            segment = lexical.build_segment(range(first, first + len(lengths)), [t for r in add for t in r.terms])
            rows = first + len(lengths)
            meta.update(generation=str(generation), rows=str(rows))
            con.execute("BEGIN IMMEDIATE")
            try:
                if fresh:  # tables of another format may have other columns: made anew, in this transaction
                    for table in ("reports", "passages", "segments", "dead", "figures", "ledgers"):
                        con.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 — fixed table names
                    for statement in filter(str.strip, SCHEMA.split(";")):
                        con.execute(statement)
                _purge(con, generation)
                _drop(con, [*drop, *(r.report.doc_id for r in add)], generation)
                _insert(con, add, first)
                if len(lengths):
                    con.execute("INSERT INTO segments VALUES (?, ?, ?)", (first, rows - 1, lexical.to_bytes(segment)))
                commit_meta(con, meta)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            if compacting:
                meta = compact(self.folder, con) or meta
        clean(self.folder, meta)
        return f"g{meta['generation']}"


def _append_lengths(path: Path, committed: int, lengths: np.ndarray) -> None:
    dense.append_vectors(path, committed, lengths.view(np.float32).reshape(-1, 1))


def _purge(con: sqlite3.Connection, generation: int) -> None:
    """Delete the text of reports removed before the previous commit (readers of that one may still look)."""
    for first, count in con.execute("SELECT first_row, count FROM dead WHERE generation < ?", (generation - 1,)):
        con.execute("DELETE FROM passages WHERE row BETWEEN ? AND ?", (first, first + count - 1))
        con.execute("DELETE FROM ledgers WHERE first_row = ?", (first,))
    con.execute("DELETE FROM dead WHERE generation < ?", (generation - 1,))


def _drop(con: sqlite3.Connection, doc_ids: Sequence[str], generation: int) -> None:
    for doc_id in doc_ids:
        found = con.execute("SELECT first_row, count FROM reports WHERE doc_id = ?", (doc_id,)).fetchone()
        if found is not None:
            con.execute("INSERT OR REPLACE INTO dead VALUES (?, ?, ?)", (*found, generation))
            con.execute("DELETE FROM reports WHERE doc_id = ?", (doc_id,))


def _insert(con: sqlite3.Connection, add: Sequence[NewReport], first: int) -> None:
    row = first
    for item in add:
        report, origin = item.report, item.origin
        con.execute("INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?)", (
            report.doc_id, row, len(item.passages), json.dumps(report.__dict__, ensure_ascii=False),
            origin.path, origin.sha256))
        con.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?)", [
            (row + i, report.doc_id, json.dumps(p.section, ensure_ascii=False), p.text, " ".join(t))
            for i, (p, t) in enumerate(zip(item.passages, item.terms, strict=True))])
        write_ledger(con, report.doc_id, row, item.passages, item.figures, item.ledger_key, item.ledger_vectors)
        row += len(item.passages)


def clean(folder: Path, meta: dict[str, str]) -> None:
    """Remove derived files neither of the last two commits refers to (and leftovers of killed writes)."""
    keep = set(json.loads(meta["files"])) | set(json.loads(meta.get("prev_files", "[]")))
    for path in folder.iterdir():
        if path.name.startswith(("vectors-", "lengths-", "postings-", "ann-", ".tmp-")) and path.name not in keep:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)



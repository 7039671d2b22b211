"""Merging the small BM25 segments of later writes into the base segment, and the vectors of later writes
into the IVF index, when they have grown large (so a write stays small and a query touches few segments).

Each step writes its new files first (fsync, then rename), then commits the new references in one
transaction; the old files are deleted by a later writer once no commit refers to them.
"""

import logging
import os
import sqlite3
import time
from pathlib import Path

import faiss
import numpy as np

from retrieval.search import dense, lexical
from retrieval.store.schema import commit_meta, name, read_meta

log = logging.getLogger(__name__)
MAX_SEGMENTS = 32  # small segments before they are merged into one
BASE_MIN_TAIL = 20_000  # rows past the base segment before they join it (and at least a quarter of it)
ANN_MIN_TAIL = 20_000  # rows past the IVF index before it is extended (and at least a quarter of it)


def compact(folder: Path, con: sqlite3.Connection) -> dict[str, str] | None:
    """Merge what has grown large; returns the committed meta, or None when nothing needed merging."""
    meta = read_meta(con)
    rows, base_rows, ann_rows = int(meta["rows"]), int(meta["base_rows"]), int(meta["ann_rows"])
    alive_rows = con.execute("SELECT COALESCE(SUM(count), 0) FROM reports").fetchone()[0]
    small = con.execute("SELECT COUNT(*) FROM segments WHERE first_row >= ?", (base_rows,)).fetchone()[0]
    merge_base = rows - base_rows > max(BASE_MIN_TAIL, base_rows // 4)
    merge_small = not merge_base and small > MAX_SEGMENTS
    index = alive_rows >= dense.ANN_MIN_ROWS and rows - ann_rows > max(ANN_MIN_TAIL, ann_rows // 4)
    if not (merge_base or merge_small or index):
        return None
    started = time.perf_counter()
    tag = f"{meta['epoch']}-{int(meta['generation']) + 1}"
    tails = [lexical.from_bytes(b) for (b,) in con.execute(
        "SELECT postings FROM segments WHERE first_row >= ? ORDER BY first_row", (base_rows,))]
    merged: lexical.Segment | None = None
    if merge_base:
        base = [lexical.load(folder / meta["base"])] if meta.get("base") else []
        meta["base"] = f"postings-{tag}"
        write_base(lexical.merge(base + tails), folder / meta["base"])
        meta["base_rows"] = str(rows)
    elif merge_small:
        merged = lexical.merge(tails)
    if index:
        grown = extended_ann(folder, meta, rows, ann_rows)
        meta["ann"], meta["ann_rows"] = f"ann-{tag}.faiss", str(rows)
        dense.save_ann(grown, folder / meta["ann"])
    con.execute("BEGIN IMMEDIATE")
    try:
        if merge_base:
            con.execute("DELETE FROM segments")
        if merged is not None:
            con.execute("DELETE FROM segments WHERE first_row >= ?", (base_rows,))
            con.execute("INSERT INTO segments VALUES (?, ?, ?)", (base_rows, rows - 1, lexical.to_bytes(merged)))
        meta["generation"] = str(int(meta["generation"]) + 1)
        commit_meta(con, meta)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("compacted %s in %.1f s (base=%s, small=%s, ann=%s)", folder, time.perf_counter() - started,
             merge_base, merge_small, index)
    return meta


def write_base(segment: lexical.Segment, folder: Path) -> None:
    tmp = folder.with_name(f".tmp-{folder.name}")
    lexical.save(segment, tmp)
    for path in tmp.iterdir():
        _fsync(path)
    _fsync(tmp)
    os.replace(tmp, folder)
    _fsync(folder.parent)


def extended_ann(folder: Path, meta: dict[str, str], rows: int, ann_rows: int) -> faiss.Index:
    """The IVF index over all ``rows``: the current one extended, or a new one (trained on these vectors)."""
    vectors = dense.open_vectors(folder / name("vectors", meta), rows, int(meta["dim"]))
    previous = meta.get("ann") or ""
    if ann_rows and previous and (folder / previous).exists():
        index = faiss.read_index(str(folder / previous))
        dense.extend_ann(index, vectors, ann_rows)
        return index
    return dense.build_ann(np.asarray(vectors))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

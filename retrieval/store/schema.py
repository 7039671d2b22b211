"""The embedded store's SQLite schema and the small reads and writes every part of it shares."""

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from retrieval.reports.documents import Passage, Report
from retrieval.store import LOCK_TIMEOUT_S, Origin

FORMAT = 2
DB = "store.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports(doc_id TEXT PRIMARY KEY, first_row INTEGER NOT NULL, count INTEGER NOT NULL,
    report TEXT NOT NULL, origin_path TEXT, origin_sha TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passages(row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, section TEXT NOT NULL,
    text TEXT NOT NULL, terms TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments(first_row INTEGER PRIMARY KEY, last_row INTEGER NOT NULL, postings BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS dead(first_row INTEGER PRIMARY KEY, count INTEGER NOT NULL, generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS figures(doc_id TEXT NOT NULL, row INTEGER NOT NULL, sentence INTEGER NOT NULL,
    clause TEXT NOT NULL, noun TEXT NOT NULL, unit_group TEXT NOT NULL, value REAL, qualifier TEXT,
    text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS figures_doc ON figures(doc_id, row);
"""


def connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=LOCK_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    return con


def read_meta(con: sqlite3.Connection) -> dict[str, str]:
    try:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError:  # no tables yet
        return {}


def name(kind: str, meta: dict[str, str]) -> str:
    return f"{kind}-{meta['epoch']}.{'f32' if kind == 'vectors' else 'i32'}"


def commit_meta(con: sqlite3.Connection, meta: dict[str, str]) -> None:
    """Record the derived files of this state (and those of the one before, still read) and commit."""
    meta["prev_files"] = meta.get("files", "[]")
    meta["files"] = json.dumps([name("vectors", meta), name("lengths", meta)]
                               + [meta[k] for k in ("base", "ann") if meta.get(k)])
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())
    con.execute("COMMIT")


def stored_reports(con: sqlite3.Connection) -> Iterator[tuple[Report, Origin, int, int]]:
    """Every live report with its origin, first row and number of passages."""
    order = "FROM reports ORDER BY first_row"
    (everything,) = con.execute(f"SELECT json_group_array(json(report)) FROM (SELECT report {order})").fetchone()
    rest = con.execute(f"SELECT first_row, count, origin_path, origin_sha {order}").fetchall()
    for fields, (first, count, path, sha) in zip(json.loads(everything), rest, strict=True):
        yield Report(**fields), Origin(path, sha), first, count


def passage_at(con: sqlite3.Connection, row: int) -> Passage:
    found = con.execute("SELECT doc_id, section, text FROM passages WHERE row = ?", (row,)).fetchone()
    if found is None:
        raise KeyError(row)
    return Passage(found[0], tuple(json.loads(found[1])), found[2])

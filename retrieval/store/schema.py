"""The embedded store's SQLite schema and the small reads and writes every part of it shares."""

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from retrieval.reports.documents import Passage, Report
from retrieval.reports.figures import Figure
from retrieval.store import LOCK_TIMEOUT_S, FigureRow, LedgerRecord, Origin

FORMAT = 4  # 4: one ledger record per report (its figure rows, their sentences, their vectors); 2 and 3 migrated
DB = "store.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports(doc_id TEXT PRIMARY KEY, first_row INTEGER NOT NULL, count INTEGER NOT NULL,
    report TEXT NOT NULL, origin_path TEXT, origin_sha TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passages(row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, section TEXT NOT NULL,
    text TEXT NOT NULL, terms TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments(first_row INTEGER PRIMARY KEY, last_row INTEGER NOT NULL, postings BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS dead(first_row INTEGER PRIMARY KEY, count INTEGER NOT NULL, generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ledgers(first_row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, rows TEXT NOT NULL,
    key TEXT NOT NULL, vectors BLOB);
"""
# The figures table of format 3 (one row per figure), read only to migrate. Its value and high have no column
# type: an int figure stays an int, a float a float (answers print either); so does a ledger record's JSON.
FIGURES_3 = """CREATE TABLE IF NOT EXISTS figures(doc_id TEXT NOT NULL, row INTEGER NOT NULL, sentence INTEGER NOT NULL,
    sentence_start INTEGER NOT NULL, sentence_end INTEGER NOT NULL, position INTEGER NOT NULL,
    text TEXT NOT NULL, value, unit TEXT NOT NULL, unit_group TEXT NOT NULL, qualifier TEXT,
    subject TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, kind TEXT NOT NULL, bound TEXT,
    high, period TEXT, clause_start INTEGER NOT NULL, clause_end INTEGER NOT NULL,
    phrase_start INTEGER NOT NULL, phrase_end INTEGER NOT NULL, after TEXT NOT NULL)"""
FIGURE_COLUMNS = ("doc_id, row, sentence, sentence_start, sentence_end, position, text, value, unit, unit_group, "
                  'qualifier, subject, start, "end", kind, bound, high, period, clause_start, clause_end, '
                  "phrase_start, phrase_end, after")


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


def read_figures(con: sqlite3.Connection, first_row: int, count: int) -> list[FigureRow]:
    """The figure rows of the report whose passages are rows ``first_row …`` (``count`` of them), in reading
    order (by row: the index that also serves deleting a removed report's rows)."""
    found = con.execute(f"SELECT {FIGURE_COLUMNS} FROM figures WHERE row BETWEEN ? AND ? "  # noqa: S608
                        "ORDER BY row, sentence, position", (first_row, first_row + count - 1)).fetchall()
    return [FigureRow(row - first_row, sentence, (s0, s1), Figure(text, value, unit, qualifier, subject, start, end,
                                                                   kind, bound, high, period),
                      (c0, c1), (p0, p1), position, after)
            for (_, row, sentence, s0, s1, position, text, value, unit, _group, qualifier, subject, start, end, kind,
                 bound, high, period, c0, c1, p0, p1, after) in found]


def write_ledger(con: sqlite3.Connection, doc_id: str, first_row: int, passages: Sequence[Passage],
                 rows: Sequence[FigureRow], key: str, vectors: np.ndarray | None) -> None:
    """A report's ledger record: its figure rows with their sentences (so reading it reads no passage) and
    the rows' vectors (``key``: what they were made from; none when not made yet)."""
    values = [[r.offset, r.sentence, *r.span, r.position, *_figure(r.figure), *r.clause, *r.phrase, r.after,
               passages[r.offset].text[r.span[0]:r.span[1]]] for r in rows]
    blob = None if vectors is None else np.ascontiguousarray(vectors, dtype=np.float32).tobytes()
    con.execute("INSERT INTO ledgers VALUES (?, ?, ?, ?, ?)",
                (first_row, doc_id, json.dumps(values, ensure_ascii=False), key, blob))


def _figure(f: Figure) -> tuple[object, ...]:
    return f.text, f.value, f.unit, f.qualifier, f.subject, f.start, f.end, f.kind, f.bound, f.high, f.period


def read_ledgers(con: sqlite3.Connection, first_rows: Iterable[int], dim: int) -> dict[int, LedgerRecord]:
    """The ledger records of the reports whose passages start at ``first_rows``, in one query."""
    wanted = sorted({int(r) for r in first_rows})
    found: dict[int, LedgerRecord] = {}
    for lo in range(0, len(wanted), 500):
        part = wanted[lo:lo + 500]
        query = f"SELECT first_row, rows, key, vectors FROM ledgers WHERE first_row IN ({','.join('?' * len(part))})"
        for first, text, key, blob in con.execute(query, part):  # noqa: S608 — placeholders only
            values = json.loads(text)
            rows = [FigureRow(v[0], v[1], (v[2], v[3]), Figure(*v[5:16]), (v[16], v[17]), (v[18], v[19]), v[4], v[20])
                    for v in values]
            vectors = None if blob is None else np.frombuffer(blob, np.float32).reshape(len(rows), dim)
            found[first] = LedgerRecord(rows, [v[21] for v in values], key, vectors)
    return found

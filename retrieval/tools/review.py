"""Review items: figures users said are wrong ("这个数字不对"), kept in SQLite beside the index.

The database (``<index_dir>/reviews.sqlite3`` by default) sits outside the index versions, so it survives
restarts and index rebuilds. An item is ``open`` until an admin marks it ``wrong`` (确认有误, with the right
figure once the admin writes it) or ``ok`` (没有问题). Items marked wrong with a right figure are a labelled
set: ``gold_rows`` writes them in the gold format of the evaluation (``fazhi eval`` reads them back).
The store also remembers when each report was first seen, for the admins' list of reports.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from retrieval.answers.reply.answer import Answer
from retrieval.reports.documents import Report

Status = Literal["open", "wrong", "ok"]
DB_NAME = "reviews.sqlite3"
STATUS_NAMES = {"open": "待处理", "wrong": "确认有误", "ok": "没有问题"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL, question TEXT NOT NULL, kind TEXT NOT NULL, answer_json TEXT NOT NULL,
    figure TEXT NOT NULL, value REAL, town TEXT NOT NULL, year INTEGER NOT NULL, doc TEXT NOT NULL,
    title TEXT NOT NULL, section TEXT NOT NULL, sentence TEXT NOT NULL, passage TEXT NOT NULL,
    user_id INTEGER, user_name TEXT NOT NULL DEFAULT '', chat_id INTEGER,
    status TEXT NOT NULL DEFAULT 'open', correct TEXT, resolved_by INTEGER, resolved_at TEXT
);
CREATE TABLE IF NOT EXISTS reports_seen (doc_id TEXT PRIMARY KEY, first_seen TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ReviewItem:
    """One report of a wrong figure, with what was answered and where the figure came from."""

    id: int
    created: str
    question: str
    kind: str
    answer_json: str
    figure: str
    value: float | None
    town: str
    year: int
    doc: str
    title: str
    section: str
    sentence: str
    passage: str
    user_id: int | None
    user_name: str
    chat_id: int | None
    status: Status = "open"
    correct: str | None = None
    resolved_by: int | None = None
    resolved_at: str | None = None


COLUMNS = tuple(f.name for f in fields(ReviewItem))


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


class ReviewStore:
    """The review database; every call opens its own connection (safe from any thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def beside(cls, index_dir: Path) -> ReviewStore:
        return cls(index_dir / DB_NAME)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def add(self, answer: Answer, number: int, *, user_id: int | None, user_name: str = "",
            chat_id: int | None = None) -> ReviewItem:
        """Store figure ``number`` of ``answer`` (in ``answer.figures()`` order) as reported wrong."""
        figure, citation = answer.figures()[number]
        source = citation.source
        row = {
            "created": _now(), "question": answer.question, "kind": answer.kind,
            "answer_json": json.dumps(answer.to_json(), ensure_ascii=False), "figure": figure.text,
            "value": figure.value, "town": source.report.town, "year": source.report.year,
            "doc": source.report.source, "title": source.report.title, "section": source.section,
            "sentence": citation.sentence, "passage": source.passage, "user_id": user_id, "user_name": user_name,
            "chat_id": chat_id,
        }
        with self._db() as db:
            cursor = db.execute(f"INSERT INTO items ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                tuple(row.values()))
            number = int(cursor.lastrowid or 0)
        item = self.get(number)
        assert item is not None
        return item

    def get(self, item_id: int) -> ReviewItem | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return ReviewItem(**dict(row)) if row else None

    def items(self, status: Status | None = None) -> list[ReviewItem]:
        """Items, oldest first; only those of ``status`` when given."""
        query, args = "SELECT * FROM items", ()
        if status is not None:
            query, args = query + " WHERE status = ?", (status,)
        with self._db() as db:
            return [ReviewItem(**dict(row)) for row in db.execute(query + " ORDER BY id", args)]

    def resolve(self, item_id: int, status: Status, *, by: int | None) -> ReviewItem | None:
        """Mark an item wrong (确认有误) or ok (没有问题); None when there is no such item."""
        with self._db() as db:
            db.execute("UPDATE items SET status = ?, resolved_by = ?, resolved_at = ? WHERE id = ?",
                       (status, by, _now(), item_id))
        return self.get(item_id)

    def correct(self, item_id: int, figure: str, *, by: int | None) -> ReviewItem | None:
        """Record the right figure of an item (which is then marked wrong)."""
        with self._db() as db:
            db.execute("UPDATE items SET status = 'wrong', correct = ?, resolved_by = ?, resolved_at = ? "
                       "WHERE id = ?", (figure.strip(), by, _now(), item_id))
        return self.get(item_id)

    def first_seen(self, reports: Iterable[Report]) -> dict[str, str]:
        """When each report was first seen by this store (recorded now for a report never seen before)."""
        now = _now()
        with self._db() as db:
            db.executemany("INSERT OR IGNORE INTO reports_seen VALUES (?, ?)", [(r.doc_id, now) for r in reports])
            return {row["doc_id"]: row["first_seen"] for row in db.execute("SELECT * FROM reports_seen")}


def items_csv(items: Iterable[ReviewItem]) -> str:
    """The items as CSV, one column per field (status in Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in items:
        values: list[Any] = [getattr(item, name) for name in COLUMNS]
        values[COLUMNS.index("status")] = STATUS_NAMES[item.status]
        writer.writerow(values)
    return out.getvalue()


def gold_rows(items: Iterable[ReviewItem]) -> list[dict[str, Any]]:
    """Items confirmed wrong with a right figure, as gold questions (see shared/eval/README.md)."""
    rows = []
    for item in items:
        if item.status != "wrong" or not item.correct:
            continue
        compare = item.kind == "compare"
        rows.append({
            "id": f"review{item.id:04d}",
            "question": item.question,
            "kind": "compare" if compare else "figure",
            "town": None if compare else item.town,
            "year": None if compare else item.year,
            "doc": None if compare else Path(item.doc).name,
            "evidence": [item.sentence] if item.correct in item.sentence else [],
            "figures": [item.correct],
            "note": f"用户报告原答“{item.figure}”有误（{item.created}），管理员更正为“{item.correct}”。",
        })
    return rows


def write_gold(items: Iterable[ReviewItem], path: Path) -> int:
    """Write the gold rows of ``items`` to ``path`` (JSON lines); returns how many."""
    rows = gold_rows(items)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return len(rows)

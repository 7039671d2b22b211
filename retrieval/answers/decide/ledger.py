"""The figure ledger: every figure of every report as a row, the unit of answering.

A row holds the figure as printed, the sentence and clause it stands in, what it counts, and where it is
(report, passage, section path). Each row's "what is counted" text (its clause, with the counted noun) is
embedded once, so a question finds its figure by meaning, not only its passage. The vectors are made when a
report is indexed (``embed_reports``) and stored with it, in its ledger record (the embedded store: one record
per report, read in one query for all the reports a question touches); a store that holds none (Milvus, or a
record whose texts changed) has them kept per report in ``<index_dir>/ledger/``, re-made only for a report
whose rows changed.
"""

import csv
import gc
import hashlib
import io
import itertools
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from embeddings import Encoder
from retrieval.reports.documents import Passage, Report
from retrieval.reports.figures import Figure
from retrieval.reports.ledger_rows import Words, clause_span, passage_rows, phrase_span, sentences
from retrieval.store import FigureRow, LedgerRecord, LedgerVectors, NewReport, Passages, Snapshot

log = logging.getLogger(__name__)
FORMAT = 1
KEPT_REPORTS = 2048  # reports whose rows stay read (a question over many units reads ~60)
__all__ = ["Entry", "Ledger", "clause_span", "embed_reports", "entry", "headline", "keep_vectors", "kept_vectors",
           "passage_entries", "phrase_around", "sentences", "to_csv", "vector_path"]


def phrase_around(sentence: str, figure: Figure) -> str:
    """The comma-delimited stretch holding a figure (see ``ledger_rows.phrase_span``)."""
    left, right = phrase_span(sentence, figure)
    return sentence[left:right]


def headline(sentence: str, figure: Figure, after: str = "") -> str:
    """The verbatim phrase that carries the figure: its clause up to the figure, and the noun it counts when
    that follows it ("全区14个街道", "750人的平安志愿者"); a quotation the clause opens inside is taken in whole."""
    left, _ = clause_span(sentence, figure.start, figure.end)
    opened = sentence.rfind("“", 0, left)
    if opened >= 0 and sentence.find("”", opened) >= left:  # "3·15"、"质量月"等节点开展…: from its first quote
        left = opened
    text = sentence[left:figure.end]
    for tail in (figure.subject, "的" + figure.subject, after):
        if tail and sentence.startswith(tail, figure.end):
            text += tail
            break
    text = text.strip(" 　")
    if text.startswith("“") and "”" not in text:
        text = text[1:]
    if text.endswith("”") and "“" not in text:
        text = text[:-1]
    return text[-40:]


@dataclass(frozen=True)
class Entry:
    """One figure of one report, with the words around it."""

    row: int  # the passage it stands in
    sentence: str
    figure: Figure
    clause: str
    phrase: str
    position: int  # the figure's place among its sentence's figures
    after: str = ""  # the noun right after the figure ("19个村…" → 村), if one follows

    @property
    def counted(self) -> str:
        """What the figure counts, in the report's words."""
        return self.figure.subject or self.clause

    @property
    def context(self) -> str:
        """The text embedded for this row: the counted noun and the phrase around the figure."""
        return f"{self.figure.subject}：{self.phrase}" if self.figure.subject else self.phrase


def entry(first_row: int, passage: Passage, row: FigureRow) -> Entry:
    """The ledger entry of a stored figure row (``passage``: the one it stands in)."""
    return _entry(first_row, passage.text[row.span[0]:row.span[1]], row)


# Figures that count nothing: the noun after a date, a share or a span of time is not what it counts
# ("12月宪法宣传周活动" is held in December; it does not count 宪法).
UNCOUNTING = frozenset({"date", "duration", "frequency", "percent"})


def _entry(first_row: int, sentence: str, row: FigureRow) -> Entry:
    after = "" if row.figure.group in UNCOUNTING else row.after
    return Entry(first_row + row.offset, sentence, row.figure, sentence[row.clause[0]:row.clause[1]],
                 sentence[row.phrase[0]:row.phrase[1]], row.position, after)


def passage_entries(row: int, passage: Passage, words: Words) -> list[Entry]:
    """The ledger entries of one passage extracted afresh, in reading order; ``words`` tags text's words
    (jieba). Indexing stores the same rows (``ledger_rows.passage_rows``); the ledger reads those."""
    return [entry(row, passage, f) for f in passage_rows(0, passage, words)]


@dataclass(frozen=True)
class Row:
    """A ledger row with its vector (row ``index`` of its report's ``matrix``)."""

    entry: Entry
    vector: np.ndarray
    matrix: np.ndarray | None = None
    index: int = 0


def stacked(rows: Sequence[Row]) -> np.ndarray:
    """The rows' vectors, one per line: taken from their report's matrix in one go when they are of one report."""
    matrix = rows[0].matrix if rows else None
    if matrix is not None and all(r.matrix is matrix for r in rows):
        return matrix[[r.index for r in rows]]
    return np.stack([r.vector for r in rows])


class Ledger:
    """The rows of one store snapshot, read per report on first use (opening costs nothing however many
    reports there are) from the ledger records the store keeps; a report's vectors come from its record, or
    from ``cache`` when the record holds none for its rows."""

    def __init__(self, snapshot: Snapshot, encoder: Encoder, cache: Path | None) -> None:
        self._snapshot, self._encoder, self._cache = snapshot, encoder, cache
        self._reports: dict[str, dict[int, list[Row]]] = {}  # the first read first: the oldest are let go
        self._lock = threading.Lock()

    def report(self, doc_id: str) -> dict[int, list[Row]]:
        """The rows of one report by passage row, in reading order."""
        found = self._reports.get(doc_id)
        return found if found is not None else self._read([doc_id])[doc_id]

    def prepare(self, doc_ids: Iterable[str]) -> None:
        """Read (and embed, when not kept yet) the rows of these reports now, in one read of the store: the
        reports of a question's candidates, or a report just added."""
        self._read(doc_ids)

    def _read(self, doc_ids: Iterable[str]) -> dict[str, dict[int, list[Row]]]:
        wanted = list(dict.fromkeys(doc_ids))
        with self._lock:
            missing = [d for d in wanted if d not in self._reports]
            records = self._snapshot.ledger_records(missing) if missing else {}
            for doc_id in missing:
                self._reports[doc_id] = self._rows(doc_id, records.get(doc_id))
            if missing:  # kept until let go (then freed by their count): the collector's full passes skip them
                gc.freeze()
            out = {d: self._reports[d] for d in wanted}
            for old in list(itertools.islice(self._reports, max(0, len(self._reports) - KEPT_REPORTS))):
                del self._reports[old]  # a bound on memory (1M passages: ~300 KB a report, 29k reports)
            return out

    def _rows(self, doc_id: str, record: LedgerRecord | None) -> dict[int, list[Row]]:
        ranges = self._snapshot.rows([doc_id])
        if not len(ranges) or record is None or not record.rows:
            return {}
        first = int(ranges[0])
        entries = [_entry(first, sentence, row) for row, sentence in zip(record.rows, record.sentences, strict=True)]
        vectors = record.vectors
        if vectors is None or record.key != vector_key([e.context for e in entries], self._encoder):
            vectors = _vectors(doc_id, entries, self._encoder, self._cache)
        by_row: dict[int, list[Row]] = {}
        for index, (item, vector) in enumerate(zip(entries, vectors, strict=True)):
            by_row.setdefault(item.row, []).append(Row(item, vector, vectors, index))
        return by_row

    def at(self, row: int) -> list[Row]:
        """The rows of passage ``row``."""
        return self.report(self._snapshot.passages[row].doc_id).get(row, [])

    def entries(self, doc_ids: Iterable[str] | None = None) -> list[Entry]:
        """Every row of these reports (all reports by default), in reading order."""
        return [r.entry for doc_id in (self._snapshot.reports if doc_ids is None else doc_ids)
                for rows in self.report(doc_id).values() for r in rows]


def vector_key(texts: Sequence[str], encoder: Encoder) -> str:
    """What a report's row vectors are made from: the texts embedded and the model."""
    return hashlib.sha256("\n".join([str(FORMAT), encoder.name, str(encoder.dim), *texts]).encode()).hexdigest()[:16]


def embed_reports(items: Sequence[NewReport], encoder: Encoder) -> list[NewReport]:
    """``items`` with their ledger rows' vectors, to store with them (embedded report by report, as a
    question would have embedded them)."""
    out = []
    for item in items:
        texts = [entry(0, item.passages[row.offset], row).context for row in item.figures]
        out.append(replace(item, ledger_key=vector_key(texts, encoder), ledger_vectors=_embed(texts, encoder)))
    return out


def kept_vectors(cache: Path | None, encoder: Encoder, *, embed: bool = True) -> LedgerVectors:
    """A store migration's source of ledger vectors: those kept in ``cache`` for a report's rows, else (when
    ``embed``) made afresh."""
    def vectors(doc_id: str, passages: Sequence[Passage], rows: Sequence[FigureRow]) -> tuple[str, np.ndarray] | None:
        entries = [entry(0, passages[row.offset], row) for row in rows]
        texts = [e.context for e in entries]
        path = vector_path(cache, doc_id, entries, encoder) if cache is not None else None
        if path is not None and path.exists():
            return vector_key(texts, encoder), np.load(path)
        return (vector_key(texts, encoder), _embed(texts, encoder)) if embed else None
    return vectors


def vector_path(cache: Path, doc_id: str, rows: Sequence[Entry], encoder: Encoder) -> Path:
    """Where the vectors of a report's rows are kept (named for the texts embedded and the model)."""
    return cache / f"{doc_id}-{vector_key([e.context for e in rows], encoder)}.npy"


def keep_vectors(path: Path, vectors: np.ndarray, *, fresh: bool = False) -> None:
    """Write a report's row vectors to ``path`` (atomically), removing those of its earlier rows (none when
    ``fresh``: the report was never kept, which spares listing the folder)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc_id = path.name.rsplit("-", 1)[0]
        for old in () if fresh else path.parent.glob(f"{doc_id}-*.npy"):
            old.unlink(missing_ok=True)
        tmp = path.parent / f".{uuid.uuid4().hex}.npy"
        np.save(tmp, vectors)
        os.replace(tmp, path)
    except OSError as error:  # a read-only index still answers; it only embeds again next time
        log.warning("cannot keep ledger vectors in %s: %s", path.parent, error)


def _vectors(doc_id: str, rows: list[Entry], encoder: Encoder, cache: Path | None) -> np.ndarray:
    path = vector_path(cache, doc_id, rows, encoder) if cache is not None else None
    if path is not None and path.exists():
        return np.load(path)
    vectors = _embed([entry.context for entry in rows], encoder)
    if path is not None:
        keep_vectors(path, vectors)
    return vectors


def _embed(texts: Sequence[str], encoder: Encoder) -> np.ndarray:
    vectors = encoder.encode_passages(texts) if texts else np.zeros((0, encoder.dim), np.float32)
    return np.ascontiguousarray(vectors, dtype=np.float32)


CSV_FIELDS = ("单位", "年份", "章节", "数字", "数值", "量词", "限定词", "计数对象", "小句", "原句", "报告")


def to_csv(ledger: Ledger, passages: Passages, reports: Mapping[str, Report], *,
           town: str | None = None, year: int | None = None) -> str:
    """The ledger as a CSV table (UTF-8 with BOM so spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    chosen = [d for d, r in reports.items() if (not town or r.town == town) and (not year or r.year == year)]
    for entry in ledger.entries(chosen):
        passage = passages[entry.row]
        report = reports[passage.doc_id]
        figure = entry.figure
        writer.writerow([report.town, report.year, passage.section_path, figure.text,
                         "" if figure.value is None else figure.value, figure.unit, figure.qualifier or "",
                         figure.subject, entry.clause, entry.sentence, report.title])
    return "\ufeff" + out.getvalue()

"""The figure ledger: every figure of every report as a row, the unit of answering.

A row holds the figure as printed, the sentence and clause it stands in, what it counts, and where it is
(report, passage, section path). Each row's "what is counted" text (its clause, with the counted noun) is
embedded once, so a question finds its figure by meaning, not only its passage; the vectors are kept per
report in ``<index_dir>/ledger/`` and re-made only for a report whose rows changed.
"""

import csv
import hashlib
import io
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings import Encoder
from retrieval.reports.documents import Passage, Report
from retrieval.reports.figures import CLAUSE_BREAKS, Figure, extract_figures
from retrieval.store import Passages, Snapshot

log = logging.getLogger(__name__)
FORMAT = 1
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_FIGURE_END = re.compile(r"\d\s*[余多万亿]*[\u4e00-\u9fff]{0,2}$|[%％]$")
_PHRASE_STOPS = "，,。；;：:！？!?"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_NOUN = set("的了是在为将对把被由从向与及并已均都得到等以来左右余多")


def sentences(text: str) -> list[str]:
    """Sentences of a passage, punctuation kept."""
    return [s for s in (m.group().strip() for m in _SENTENCE.finditer(text)) if s]


def _words_only(text: str) -> str:
    """The Chinese of ``text`` without numbers and the measure words after them ("2023年12件；" → "")."""
    numbers = re.sub(r"\d[\d.,%％]*\s*(?:[余多万亿]*[\u4e00-\u9fff]{0,2})", "", text)
    return "".join(re.findall(r"[\u4e00-\u9fff]", numbers))


def _left_break(sentence: str, before: int) -> int:
    return max((sentence.rfind(ch, 0, before) for ch in CLAUSE_BREAKS), default=-1) + 1


_ROW_LABEL = 20  # the longest label a table row opens with ("行标题：")


def clause_span(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Where the clause holding a figure begins and ends; a clause that is nothing but figures
    ("98批次，385人次", a table row's "2023年12件；2024年18件") takes in the clauses before it, up to
    the one that names what is counted."""
    left = _left_break(sentence, start)
    rights = [i for i in (sentence.find(ch, end) for ch in CLAUSE_BREAKS) if i >= 0]
    right = min(rights, default=len(sentence))
    while left > 1 and len(_words_only(sentence[left:start] + sentence[end:right])) < 2:
        left = _left_break(sentence, left - 1)
    if left > 1 and len(_words_only(sentence[left:start])) <= 3 and _FIGURE_END.search(sentence[:left - 1]):
        # "项目清单145件，已完成142件": a short verb continuing a list of figures shares its subject
        left = _left_break(sentence, left - 1)
    if 1 < left <= _ROW_LABEL and sentence[left - 1] == "：" and _left_break(sentence, left - 1) == 0:
        left = 0  # a table row, "民事诉讼案件：数量50起": its label names what is counted
    return left, right


def phrase_around(sentence: str, figure: Figure) -> str:
    """The comma-delimited stretch holding a figure (wider than its clause: 、 does not end it); when it
    opens with no more than a short verb ("已完成142件"), the stretch before it names what is counted."""
    left = max((sentence.rfind(ch, 0, figure.start) for ch in _PHRASE_STOPS), default=-1) + 1
    if left > 1 and len(_words_only(sentence[left:figure.start])) <= 3:
        left = max((sentence.rfind(ch, 0, left - 1) for ch in _PHRASE_STOPS), default=-1) + 1
    rights = [i for i in (sentence.find(ch, figure.end) for ch in _PHRASE_STOPS) if i >= 0]
    return sentence[left:min(rights, default=len(sentence))]


def headline(sentence: str, figure: Figure) -> str:
    """The verbatim phrase that carries the figure: its clause up to the figure (or its noun after)."""
    left, _ = clause_span(sentence, figure.start, figure.end)
    text = sentence[left:figure.end]
    for tail in (figure.subject, "的" + figure.subject):  # "750人的平安志愿者"
        if figure.subject and sentence.startswith(tail, figure.end):
            text += tail
            break
    return text.strip("“” 　")[-40:]


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


def passage_entries(row: int, passage: Passage, words: Callable[[str], list[tuple[str, str]]]) -> list[Entry]:
    """The ledger rows of one passage, in reading order; ``words`` tags text's words (jieba)."""
    out = []
    for sentence in sentences(passage.text):
        for position, figure in enumerate(extract_figures(sentence)):
            left, right = clause_span(sentence, figure.start, figure.end)
            out.append(Entry(row, sentence, figure, sentence[left:right], phrase_around(sentence, figure), position,
                             _noun_after(sentence[figure.end:right], words)))
    return out


def _noun_after(rest: str, words: Callable[[str], list[tuple[str, str]]]) -> str:
    """The first word after a figure when it is a noun naming what is counted ("村" in "19个村实现…")."""
    if not rest or not _CJK.match(rest) or rest[0] in _NOT_NOUN:
        return ""
    first = words(rest[:12])
    return first[0][0] if first and first[0][1].startswith(("n", "zg")) else ""  # jieba tags a lone 村 zg


@dataclass(frozen=True)
class Row:
    """A ledger row with its vector."""

    entry: Entry
    vector: np.ndarray


class Ledger:
    """The rows of one store snapshot, read per report on first use (opening costs nothing however many
    reports there are); a report's vectors come from ``cache`` when its rows are unchanged."""

    def __init__(self, snapshot: Snapshot, encoder: Encoder, words: Callable[[str], list[tuple[str, str]]],
                 cache: Path | None) -> None:
        self._snapshot, self._encoder, self._words, self._cache = snapshot, encoder, words, cache
        self._reports: dict[str, dict[int, list[Row]]] = {}
        self._lock = threading.Lock()

    def report(self, doc_id: str) -> dict[int, list[Row]]:
        """The rows of one report by passage row, in reading order."""
        found = self._reports.get(doc_id)
        if found is not None:
            return found
        with self._lock:
            if doc_id not in self._reports:
                snapshot = self._snapshot
                entries = [e for row in snapshot.rows([doc_id])
                           for e in passage_entries(int(row), snapshot.passages[int(row)], self._words)]
                vectors = _vectors(doc_id, entries, self._encoder, self._cache)
                by_row: dict[int, list[Row]] = {}
                for entry, vector in zip(entries, vectors, strict=True):
                    by_row.setdefault(entry.row, []).append(Row(entry, vector))
                self._reports[doc_id] = by_row
            return self._reports[doc_id]

    def at(self, row: int) -> list[Row]:
        """The rows of passage ``row``."""
        return self.report(self._snapshot.passages[row].doc_id).get(row, [])

    def entries(self, doc_ids: Iterable[str] | None = None) -> list[Entry]:
        """Every row of these reports (all reports by default), in reading order."""
        return [r.entry for doc_id in (self._snapshot.reports if doc_ids is None else doc_ids)
                for rows in self.report(doc_id).values() for r in rows]


def _vectors(doc_id: str, rows: list[Entry], encoder: Encoder, cache: Path | None) -> np.ndarray:
    texts = [entry.context for entry in rows]
    key = hashlib.sha256("\n".join([str(FORMAT), encoder.name, str(encoder.dim), *texts]).encode()).hexdigest()[:16]
    path = cache / f"{doc_id}-{key}.npy" if cache is not None else None
    if path is not None and path.exists():
        return np.load(path)
    vectors = encoder.encode_passages(texts) if texts else np.zeros((0, encoder.dim), np.float32)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if path is not None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            for old in cache.glob(f"{doc_id}-*.npy"):
                old.unlink(missing_ok=True)
            tmp = cache / f".{uuid.uuid4().hex}.npy"
            np.save(tmp, vectors)
            os.replace(tmp, path)
        except OSError as error:  # a read-only index still answers; it only embeds again next time
            log.warning("cannot keep ledger vectors in %s: %s", cache, error)
    return vectors


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

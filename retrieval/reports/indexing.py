"""Changing a store: reports read from files become rows to store (passages, BM25 terms, vectors, figure
rows and their vectors); a report of the same town and year is replaced; a new model re-embeds what is stored.
Only the passages (and figure rows) of new reports are embedded."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from embeddings import Encoder
from retrieval.answers.decide.ledger import embed_reports
from retrieval.errors import UnknownReportError
from retrieval.reports.documents import Passage, Report, ensure_distinct, read_report
from retrieval.reports.figures import Figure, extract_figures
from retrieval.reports.ledger_rows import figure_rows
from retrieval.search.tokenize import Tokenizer
from retrieval.store import NewReport, Origin, Snapshot


@dataclass(frozen=True)
class Parsed:
    """A report read from a file, not yet indexed."""

    report: Report
    passages: list[Passage]
    origin: Origin


@dataclass(frozen=True)
class AddResult:
    """What adding one report did."""

    report: Report
    replaced: Report | None
    figures: list[Figure]


@dataclass(frozen=True)
class Change:
    """One commit: reports to store and doc ids to remove."""

    add: list[NewReport]
    drop: list[str]
    results: list[AddResult]


def parse_file(path: Path, *, hint: str = "", keep_path: bool = True, unit: str | None = None,
               year: int | None = None) -> Parsed:
    """Read a report file; ``keep_path`` records the path so a changed file is noticed later;
    ``unit``/``year`` override what the content says."""
    report, passages = read_report(path, hint=hint, unit=unit, year=year)
    figures = sum(len(extract_figures(p.text)) for p in passages)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    origin = Origin(str(path.resolve()) if keep_path else None, sha)
    return Parsed(replace(report, figures=figures), passages, origin)


def embedding_text(report: Report, passage: Passage) -> str:
    """What the encoder sees: the report title and section before the passage (it helps every model)."""
    section = passage.section[-1] if passage.section else ""
    return f"{report.title} {section}\n{passage.clean}"


def passage_terms(tokenizer: Tokenizer, report: Report, passage: Passage) -> list[str]:
    return tokenizer.index_terms(f"{report.town} {' '.join(passage.section)} {passage.clean}")


def changed_files(snapshot: Snapshot) -> dict[str, Path]:
    """Reports whose source file is still there but no longer holds what was indexed (doc id → path)."""
    changed = {}
    for doc_id, origin in snapshot.origins.items():
        path = Path(origin.path) if origin.path else None
        if path is not None and path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != origin.sha256:
            changed[doc_id] = path
    return changed


def add_reports(snapshot: Snapshot | None, parsed: Sequence[Parsed], *, encoder: Encoder, tokenizer: Tokenizer,
                progress: bool = False, drop: Sequence[str] = ()) -> Change:
    """The change that adds ``parsed`` (and removes the reports ``drop``); a stored report of the same
    town and year is replaced; two of ``parsed`` of the same town and year are refused."""
    ensure_distinct([item.report for item in parsed])
    held = {(r.town, r.year): r for r in (snapshot.reports.values() if snapshot else ()) if r.doc_id not in drop}
    kept: dict[tuple[str, int], Parsed] = {}
    results: list[AddResult] = []
    removed = list(drop)
    for item in parsed:
        key = (item.report.town, item.report.year)
        old = kept.pop(key).report if key in kept else held.pop(key, None)
        if old is not None and old.doc_id not in removed:
            removed.append(old.doc_id)
        kept[key] = item
        sample = [f for p in item.passages for f in extract_figures(p.text)][:5]
        results.append(AddResult(item.report, old, sample))
        tokenizer.add_words([item.report.town])
    items = list(kept.values())
    texts = [embedding_text(i.report, p) for i in items for p in i.passages]
    vectors = encoder.encode_passages(texts, progress=progress) if texts else np.zeros((0, encoder.dim), np.float32)
    add, start = [], 0
    for item in items:
        end = start + len(item.passages)
        terms = [passage_terms(tokenizer, item.report, p) for p in item.passages]
        add.append(NewReport(item.report, item.origin, item.passages, terms, vectors[start:end],
                             figure_rows(item.passages, tokenizer.tagged)))
        start = end
    return Change(embed_reports(add, encoder), [d for d in removed if snapshot and d in snapshot.reports], results)


def remove_report(snapshot: Snapshot, town: str, year: int) -> Report:
    """The stored report of ``town`` and ``year``."""
    gone = next((r for r in snapshot.reports.values() if (r.town, r.year) == (town, year)), None)
    if gone is None:
        raise UnknownReportError(f"{town} {year}")
    return gone


def reembed(snapshot: Snapshot, *, encoder: Encoder, progress: bool = False) -> list[NewReport]:
    """Every stored report with its passages, terms and figure rows as stored, embedded with ``encoder``."""
    stored = []
    for report in snapshot.reports.values():
        rows = snapshot.rows([report.doc_id])
        stored.append((report, [snapshot.passages[int(r)] for r in rows], snapshot.stored_terms(rows)))
    texts = [embedding_text(report, p) for report, passages, _ in stored for p in passages]
    vectors = encoder.encode_passages(texts, progress=progress) if texts else np.zeros((0, encoder.dim), np.float32)
    out, start = [], 0
    for report, passages, terms in stored:
        end = start + len(passages)
        out.append(NewReport(report, snapshot.origins[report.doc_id], passages, terms, vectors[start:end],
                             snapshot.figure_rows(report.doc_id)))
        start = end
    return embed_reports(out, encoder)

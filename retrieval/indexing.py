"""Building and changing a corpus: add reports (replacing a town's report of the same year), remove one,
re-embed for another model. Only new passages are embedded; kept ones carry their vectors over."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from embeddings import Encoder
from retrieval.dense import DenseIndex
from retrieval.documents import Passage, Report, ensure_distinct, read_report
from retrieval.errors import UnknownReportError
from retrieval.figures import Figure, extract_figures
from retrieval.store import Corpus, Origin
from retrieval.tokenize import Tokenizer


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


def _terms(tokenizer: Tokenizer, report: Report, passage: Passage) -> list[str]:
    return tokenizer.index_terms(f"{report.town} {' '.join(passage.section)} {passage.clean}")


def changed_files(corpus: Corpus) -> dict[str, Path]:
    """Reports whose source file is still there but no longer holds what was indexed (doc id → path)."""
    changed = {}
    for doc_id, origin in corpus.origins.items():
        path = Path(origin.path) if origin.path else None
        if path is not None and path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != origin.sha256:
            changed[doc_id] = path
    return changed


def add_reports(corpus: Corpus | None, parsed: Sequence[Parsed], *, model: str, encoder: Encoder,
                tokenizer: Tokenizer, progress: bool = False,
                drop: Sequence[str] = ()) -> tuple[Corpus, list[AddResult]]:
    """A new corpus with ``parsed`` added (and the reports ``drop`` removed); a report of the same town
    and year is replaced; two of ``parsed`` of the same town and year are refused."""
    ensure_distinct([item.report for item in parsed])
    reports = {k: v for k, v in corpus.reports.items() if k not in drop} if corpus else {}
    origins = {k: v for k, v in corpus.origins.items() if k not in drop} if corpus else {}
    results: list[AddResult] = []
    for item in parsed:
        old = next((r for r in reports.values() if (r.town, r.year) == (item.report.town, item.report.year)), None)
        if old is not None:
            del reports[old.doc_id], origins[old.doc_id]
        reports[item.report.doc_id] = item.report
        origins[item.report.doc_id] = item.origin
        sample = [f for p in item.passages for f in extract_figures(p.text)][:5]
        results.append(AddResult(item.report, old, sample))
        tokenizer.add_words([item.report.town])

    keep = [i for i, p in enumerate(corpus.passages) if p.doc_id in reports] if corpus else []
    new = [(item.report, p) for item in parsed if item.report.doc_id in reports for p in item.passages]
    new_vectors = encoder.encode_passages([embedding_text(r, p) for r, p in new], progress=progress)
    old_vectors = corpus.dense.vectors()[keep] if corpus else np.zeros((0, new_vectors.shape[1]), np.float32)
    rebuilt = Corpus(
        model=model,
        reports=reports,
        origins=origins,
        passages=[corpus.passages[i] for i in keep] + [p for _, p in new] if corpus else [p for _, p in new],
        terms=([corpus.terms[i] for i in keep] if corpus else []) + [_terms(tokenizer, r, p) for r, p in new],
        dense=DenseIndex.build(np.vstack([old_vectors, new_vectors])),
    )
    return rebuilt, results


def remove_report(corpus: Corpus, town: str, year: int) -> tuple[Corpus, Report]:
    """A new corpus without the report of ``town`` and ``year``."""
    gone = next((r for r in corpus.reports.values() if (r.town, r.year) == (town, year)), None)
    if gone is None:
        raise UnknownReportError(f"{town} {year}")
    keep = [i for i, p in enumerate(corpus.passages) if p.doc_id != gone.doc_id]
    vectors = corpus.dense.vectors()[keep]
    return replace(
        corpus,
        reports={k: v for k, v in corpus.reports.items() if k != gone.doc_id},
        origins={k: v for k, v in corpus.origins.items() if k != gone.doc_id},
        passages=[corpus.passages[i] for i in keep],
        terms=[corpus.terms[i] for i in keep],
        dense=DenseIndex.build(vectors) if keep else DenseIndex.build(np.zeros((0, corpus.dense.dim), np.float32)),
    ), gone


def reembed(corpus: Corpus, *, model: str, encoder: Encoder, progress: bool = False) -> Corpus:
    """The same corpus embedded with another model."""
    texts = [embedding_text(corpus.reports[p.doc_id], p) for p in corpus.passages]
    return replace(corpus, model=model, dense=DenseIndex.build(encoder.encode_passages(texts, progress=progress)))

"""Which reports a question's answer is chosen in: each report it names, or the reports its candidates fall in.

A question that names one or a few units (or a corpus of a few reports) is decided in every selected report,
exactly as before: a rank over each report's ~30 passages. A question that names no unit, or many, costs one
call per retriever instead: the top ``candidates`` passages of BM25 and of the dense index for the whole
question, with its unit and year filters pushed down into the stores (``Searcher.candidates``), grouped by
report. The per-report decision then runs on those reports only (for a figure, only on those whose candidate
passages hold a figure that may answer); every other report in scope counts as one without the figure, so the
cost follows ``candidates``, not the number of reports.

    question ── understand ── candidates (BM25 top k ∪ dense top k, filtered) ── group by report
                                   └── per-report decision on those reports ── top N + counts + full table
"""

from collections.abc import Callable
from dataclasses import dataclass

from retrieval.answers.question.query import Query
from retrieval.reports.documents import Report
from retrieval.search.hybrid import Hit, Searcher

FEW_UNITS = 5
CANDIDATES = 60
TOP = 10


@dataclass(frozen=True, kw_only=True)
class ScopeConfig:
    """How a question over many units is answered (``EngineConfig`` holds one; ``bot.settings`` sets ``top``
    from ``FAZHI_COMPARE_TOP`` and ``candidates`` from ``FAZHI_CANDIDATES``)."""

    few: int = FEW_UNITS  # a question naming at most this many units (or a corpus this small): every report
    candidates: int = CANDIDATES  # passages each retriever returns for a question over many units
    top: int = TOP  # units a comparison shows; the full table goes to its CSV


@dataclass(frozen=True)
class Scope:
    """The reports to decide in (in the order of ``reports``: by unit and year) and, for a question over many
    units, its candidates (``grouped``)."""

    decide: list[Report]
    hits: list[Hit]
    grouped: bool = False


def scope(query: Query, searcher: Searcher, reports: list[Report], config: ScopeConfig,
          fits: Callable[[int], bool] | None = None) -> Scope:
    """The reports of ``reports`` worth deciding for ``query`` (all of them when it names a few units): those
    with a candidate passage (for which ``fits(row)``, when given: a passage holding a figure that may answer).
    The candidates come from the rows of ``reports`` only (the filters that chose them are pushed down)."""
    if len(reports) <= config.few or (query.towns and len(query.towns) <= config.few):
        return Scope(list(reports), [])
    towns, years = _filters(query, reports)
    hits = searcher.candidates(query.search, config.candidates, towns=towns, years=years)
    searcher.ledger.prepare(searcher.corpus.passages[h.row].doc_id for h in hits)  # one read for all of them
    having = {searcher.corpus.passages[h.row].doc_id for h in hits if fits is None or fits(h.row)}
    decide = sorted((searcher.corpus.reports[doc_id] for doc_id in having), key=lambda r: (r.town, r.year))
    return Scope(decide, hits, grouped=True)


def _filters(query: Query, reports: list[Report]) -> tuple[set[str] | None, set[int] | None]:
    """The unit and year filters that chose ``reports`` (``engine.select_reports``), for the stores to apply:
    the units named, and the year asked unless no report of that year was found (then every year)."""
    towns = set(query.towns) or None
    years = {query.year} if query.year is not None and all(r.year == query.year for r in reports) else None
    return towns, years

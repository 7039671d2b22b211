"""The answer object every front end renders: figures quoted verbatim, each with its source."""

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from retrieval.reports.documents import Report
from retrieval.reports.figures import Figure

Kind = Literal["figure", "multi", "example", "compare", "none"]


@dataclass(frozen=True)
class Source:
    """A retrieved passage and where it stands in its report."""

    report: Report
    section: str
    passage: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {
            "doc": self.report.source,
            "title": self.report.title,
            "town": self.report.town,
            "year": self.report.year,
            "section": self.section,
            "passage": self.passage,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Citation:
    """One quoted piece of an answer: a figure (or a practice) with its sentence and source.

    ``headline`` is the verbatim phrase that carries the figure ("专兼职人民调解员63名");
    ``figure`` is None for an example or a closest passage.
    """

    source: Source
    sentence: str
    headline: str = ""
    figure: Figure | None = None
    extra: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Answer:
    """What the core answers; ``text`` is exactly what a user is shown.

    A comparison over many units shows its top N in ``citations``; ``more`` holds the other units' answers
    (in the full table only: ``render.table_csv``), ``missing`` every report in scope without one.
    """

    question: str
    kind: Kind
    found: bool
    lead: str
    citations: tuple[Citation, ...] = ()
    missing: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    text: str = field(default="", compare=False)
    more: tuple[Citation, ...] = ()
    units: int = 0  # units in scope (a comparison's), when counted already; 0: counted from ``missing``

    @functools.cached_property
    def units_with(self) -> int:
        """Units (towns) that have an answer, shown or in ``more``."""
        return len({c.source.report.town for c in (*self.citations, *self.more)})

    @functools.cached_property
    def units_without(self) -> int:
        """Units in scope with no report that has an answer."""
        if self.units:
            return self.units - self.units_with
        having = {c.source.report.town for c in (*self.citations, *self.more)}
        return len({label.partition("（")[0] for label in self.missing} - having)

    def figures(self) -> list[tuple[Figure, Citation]]:
        """The answer's figures in order, the headline figure first; empty when nothing was found."""
        if not self.found:
            return []
        out: list[tuple[Figure, Citation]] = []
        for citation in self.citations:
            if citation.figure is not None:
                out.append((citation.figure, citation))
            out.extend((extra, citation) for extra in citation.extra)
        return out

    def to_json(self) -> dict[str, Any]:
        """The answer for programs; a comparison adds ``units_with`` / ``units_without`` (its counts, the
        units beyond the shown ones included)."""
        counts = {"units_with": self.units_with, "units_without": self.units_without} if self.kind == "compare" else {}
        return {
            "question": self.question,
            "found": self.found,
            "kind": self.kind,
            "answer": self.text,
            "figures": [
                {
                    "text": fig.text,
                    "value": fig.value,
                    "unit": fig.unit,
                    "qualifier": fig.qualifier,
                    "subject": fig.subject,
                    "town": cit.source.report.town,
                    "year": cit.source.report.year,
                    "sentence": cit.sentence,
                }
                for fig, cit in self.figures()
            ],
            "sources": [source.to_json() for source in self.sources],
            **counts,
        }

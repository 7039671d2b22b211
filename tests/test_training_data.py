"""The labelled training questions (tests/data/train/*.jsonl) hold to the gold format of ../shared/eval.

Every file in the folder is checked the same way, so a file written later (or not yet) needs no change here:
the fields and kinds are those of the gold sets, town/year/doc agree with how the gold sets label each
report, every evidence string is a verbatim passage of its report (white space ignored, as the scorer
ignores it), every figure is printed inside one of its evidence strings, and no question repeats one of
the public, dev or reports questions (the training set must stay separate from the sets it is judged on).
"""

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from retrieval.reports.readers import read_blocks
from tests.conftest import SHARED

TRAIN = Path(__file__).parent / "data" / "train"
SEEDS = SHARED / "seeds"
REPORT_DOCS = SHARED / "eval" / "reports" / "docs"
GOLD_SETS = (SHARED / "eval" / "questions.jsonl", SHARED / "eval" / "dev.jsonl",
             SHARED / "eval" / "reports" / "questions.jsonl")
KINDS = {"figure", "multi", "example", "compare", "none", "followup"}
FIELDS = {"id", "question", "kind", "town", "year", "doc", "evidence", "figures", "note"}
OPTIONAL = {"context"}
_SPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _train_rows() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(TRAIN.glob("*.jsonl")):
        for row in _lines(path):
            yield path.name, row


ROWS = list(_train_rows())


@cache
def _report_text(doc: str) -> str:
    """The report's paragraphs as the product reads them, white space removed."""
    path = SEEDS / doc if (SEEDS / doc).exists() else REPORT_DOCS / doc
    assert path.exists(), f"no report file {doc}"
    return _squash("".join(read_blocks(path)))


@cache
def _report_labels() -> dict[str, tuple[str, int]]:
    """doc → (town, year), as the gold sets label each report."""
    labels: dict[str, tuple[str, int]] = {}
    for path in GOLD_SETS:
        for gold in _lines(path):
            for doc, town, year in _triples(gold):
                if doc and town and year:
                    assert labels.setdefault(doc, (town, year)) == (town, year), doc
    return labels


@cache
def _gold_questions() -> frozenset[str]:
    return frozenset(_squash(g["question"]) for path in GOLD_SETS for g in _lines(path))


def _triples(row: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
    """(doc, town, year) of each report a row names: lists for a compare (or a cross-town none), else one."""
    doc, town, year = row["doc"], row["town"], row["year"]
    if not (isinstance(town, list) or isinstance(doc, list) or isinstance(year, list)):
        return [(doc, town, year)]
    assert row["kind"] in ("compare", "none"), "only compare and none rows name several reports"
    docs = doc if isinstance(doc, list) else [doc] * len(town)
    assert isinstance(town, list) and isinstance(year, list)
    assert len(town) == len(year) == len(docs) >= 2
    return list(zip(docs, town, year, strict=True))


def _candidate_docs(row: dict[str, Any]) -> list[str]:
    """The reports the row's evidence must come from: its doc(s), else its town's report, else any.

    A ``none`` row's evidence is its trap, which may sit in another town's report.
    """
    if row["kind"] == "none" or (row["kind"] == "followup" and not row["figures"] and row["doc"] is None):
        return sorted(_report_labels())
    docs = [d for d, _, _ in _triples(row) if d]
    if docs:
        return docs
    towns = {t for _, t, _ in _triples(row) if t}
    named = [doc for doc, (town, _) in _report_labels().items() if town in towns]
    return named or sorted(_report_labels())


def _row_id(item: tuple[str, dict[str, Any]]) -> str:
    return str(item[1].get("id", item[0]))


def test_there_are_training_files() -> None:
    assert ROWS, f"no questions in {TRAIN}/*.jsonl"


def test_ids_and_questions_are_unique() -> None:
    """Across all files; a follow-up counts with its context (“人次呢？” may follow different questions)."""
    ids = [row["id"] for _, row in ROWS]
    asked = [tuple(_squash(q) for q in [*row.get("context", []), row["question"]]) for _, row in ROWS]
    assert len(ids) == len(set(ids))
    assert len(asked) == len(set(asked))


@pytest.mark.parametrize("item", ROWS, ids=_row_id)
def test_row_has_the_gold_fields(item: tuple[str, dict[str, Any]]) -> None:
    _, row = item
    assert FIELDS <= row.keys() <= FIELDS | OPTIONAL
    assert re.fullmatch(r"[a-z]+\d{3,}", row["id"])
    assert row["kind"] in KINDS
    assert row["question"].strip() and row["note"].strip()
    assert all(isinstance(e, str) and e.strip() for e in row["evidence"])
    assert all(isinstance(f, str) and f.strip() for f in row["figures"])
    assert ("context" in row) == (row["kind"] == "followup")
    if row["kind"] == "followup":
        assert row["context"] and all(isinstance(c, str) and c.strip() for c in row["context"])


@pytest.mark.parametrize("item", ROWS, ids=_row_id)
def test_row_fits_its_kind(item: tuple[str, dict[str, Any]]) -> None:
    _, row = item
    kind, figures = row["kind"], row["figures"]
    if kind == "none":
        assert figures == [] and row["doc"] is None
    if kind == "figure":
        assert figures and row["doc"] and row["evidence"]
    if kind == "multi":
        assert len(figures) >= 2 and row["doc"]
    if kind in ("example", "compare"):
        assert row["evidence"]
    if figures or kind == "example":
        assert row["evidence"]


@pytest.mark.parametrize("item", ROWS, ids=_row_id)
def test_town_year_and_doc_match_the_report(item: tuple[str, dict[str, Any]]) -> None:
    _, row = item
    labels = _report_labels()
    for doc, town, year in _triples(row):
        if doc is not None:
            assert labels.get(doc) == (town, year), f"{doc} is {labels.get(doc)}, row says {(town, year)}"
        elif town is not None and any(t == town for t, _ in labels.values()):
            assert (town, year) in labels.values(), f"{town} has no report of {year}"


@pytest.mark.parametrize("item", ROWS, ids=_row_id)
def test_evidence_is_verbatim_and_holds_the_figures(item: tuple[str, dict[str, Any]]) -> None:
    _, row = item
    texts = [_report_text(doc) for doc in _candidate_docs(row)]
    for evidence in row["evidence"]:
        assert any(_squash(evidence) in text for text in texts), f"not in the report: {evidence}"
    for figure in row["figures"]:
        assert any(_squash(figure) in _squash(e) for e in row["evidence"]), f"{figure} not in the evidence"


@pytest.mark.parametrize("item", ROWS, ids=_row_id)
def test_question_is_not_a_gold_question(item: tuple[str, dict[str, Any]]) -> None:
    _, row = item
    for asked in [*row.get("context", []), row["question"]]:  # an earlier question of its conversation too
        assert _squash(asked) not in _gold_questions(), f"copies an eval question: {asked}"

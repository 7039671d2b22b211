"""A part of a whole asked for ("企业里搞危化品经营的有几家"): the part's topic words must stand in the figure's
own clause; a colloquial verb of the question (搞, 走) is not one of them."""

import pytest

from retrieval.answers.decide.features import FEATURES, Context, features
from retrieval.answers.decide.ledger import Entry
from retrieval.answers.question.query import understand
from retrieval.reports.figures import extract_figures
from retrieval.search.tokenize import Tokenizer

TOWNS = ["中塘镇"]
SENTENCE = "全镇共有企业451家，其中危化品经营企业9家"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(TOWNS)


@pytest.mark.parametrize(("question", "missing"), [
    pytest.param("中塘镇企业里搞危化品经营的有几家", 0.0, id="colloquial-verb-aside"),
    pytest.param("中塘镇企业里危化品经营的有几家", 0.0, id="part-in-the-clause"),
    pytest.param("中塘镇企业里做烟花批发的有几家", 1.0, id="part-not-in-the-clause"),
])
def test_part_missing(tokenizer: Tokenizer, question: str, missing: float) -> None:
    query = understand(question, (), TOWNS, tokenizer)
    assert query.within[1]
    figure = extract_figures(SENTENCE)[1]
    clause = SENTENCE[SENTENCE.index("其中"):]
    entry = Entry(0, SENTENCE, figure, clause, clause, 1)
    row = features(Context(query, lambda term, kind: kind), entry, passage_text=SENTENCE, section="",
                   report_year=2021, row_similarity=0.9, row_gap=0.0, passage_similarity=0.9, passage_score=1.0,
                   passage_rank=0)
    assert row[FEATURES.index("part_missing")] == missing

"""The noun counted right after a figure ("19个村…") must be the question's: by itself, or as the first word of
a compound that the question's noun closes ("0条问题线索" counts 线索)."""

import pytest

from retrieval.answers.decide.features import after_head, names
from retrieval.answers.decide.ledger import Entry
from retrieval.answers.question.query import Query, understand
from retrieval.reports.figures import extract_figures
from retrieval.reports.ledger_rows import noun_after
from retrieval.search.tokenize import Tokenizer

TOWNS = ["中塘镇"]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(TOWNS)


def _entry(sentence: str, tokenizer: Tokenizer) -> Entry:
    figure = extract_figures(sentence)[0]
    return Entry(0, sentence, figure, sentence, sentence, 0, noun_after(sentence[figure.end:], tokenizer.tagged))


@pytest.mark.parametrize(("question", "sentence", "named"), [
    pytest.param("中塘镇上报了几条线索", "本年度至今上报0条问题线索", True, id="compound-closed-by-question-noun"),
    pytest.param("中塘镇有几个村", "全镇24个村全部落实了平安志愿者", True, id="the-noun-itself"),
    pytest.param("中塘镇有多少法律顾问", "19个村实现法律顾问全覆盖", False, id="another-noun-then-a-verb"),
    pytest.param("中塘镇有多少线索", "上报3条问题", False, id="the-first-word-only"),
])
def test_counted_noun_after_the_figure(tokenizer: Tokenizer, question: str, sentence: str, named: bool) -> None:
    query: Query = understand(question, (), TOWNS, tokenizer)
    entry = _entry(sentence, tokenizer)
    assert entry.after
    assert names(query, entry.after, entry) is named


@pytest.mark.parametrize(("question", "sentence", "alike"), [
    pytest.param("中塘镇建了几个调解小组", "全镇共建成12个调解小组", True, id="same-noun"),
    pytest.param("中塘镇有几名调解员", "全镇共有63名人民调解员", True, id="question-noun-closes-it"),
    pytest.param("中塘镇建了几个调解小组", "全镇配备8名专职调解员", False, id="another-head"),
    pytest.param("中塘镇建了几个调解小组", "全镇建成调解小组12个", False, id="nothing-counted-after"),
])
def test_counted_noun_ends_as_the_questions(tokenizer: Tokenizer, question: str, sentence: str, alike: bool) -> None:
    query: Query = understand(question, (), TOWNS, tokenizer)
    assert after_head(query, _entry(sentence, tokenizer).after) is alike

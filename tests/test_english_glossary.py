"""The glossary maps officials' English phrases to the reports' words (longest phrase first, each used once)."""

import pytest

from retrieval.answers.question.english import glossary_terms


@pytest.mark.parametrize(("text", "expected"), [
    ("How many days did the principal leaders spend receiving petitioners?", "接访"),
    ("Did the top leaders take part?", "主要领导"),
    ("How many thematic publicity events were organised?", "主题宣传"),
    ("How many administrative punishments were imposed?", "行政处罚"),
    ("How many contracts were reviewed by the legal adviser? (contract reviews)", "合同审查"),
    ("How many legally literate villagers were trained?", "法律明白人"),
    ("How many grid officers work in the town?", "网格员"),
    ("How often was dispute screening carried out?", "矛盾纠纷排查"),
    ("What was done for workplace safety?", "安全生产"),
    ("How many law enforcement inspections took place?", "执法检查"),
    ("What law popularization work was done?", "普法"),
    ("Was there pre-meeting law study?", "会前学法"),
    ("How many training classes were held?", "培训"),
    ("How many cases were filed by the bureau?", "立案"),
    ("How many new market entities were registered?", "市场主体"),
    ("How much was collected in fines and confiscations?", "罚没款"),
    ("How many applications were still in progress at the end of the year?", "正在办理"),
    ("And how many were pending review?", "待审核"),
])
def test_new_phrases_map_to_report_words(text: str, expected: str) -> None:
    assert expected in glossary_terms(text)


def test_longer_phrase_wins_over_its_words() -> None:
    """"law enforcement officers" is one word (执法人员), not 执法 plus a stray word."""
    assert glossary_terms("How many law enforcement officers hold certificates?") == ["执法人员"]


def test_generic_words_are_not_mapped() -> None:
    assert glossary_terms("What did the government do about it this year?") == []

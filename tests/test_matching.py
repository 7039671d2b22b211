"""Matching a question's topic words against report text: exact, head noun, words inserted, synonyms."""

import pytest

from retrieval.answers.meaning.matching import Match, coverage, head_match, match, missing_weight, related
from retrieval.answers.meaning.synonyms import thesaurus

MEDIATORS = "统筹20个人民调解委员会、专兼职人民调解员63名的职能作用"


@pytest.mark.parametrize(("term", "zone", "exact", "head", "meaning"), [
    pytest.param("人民调解员", MEDIATORS, 1.0, 1.0, 1.0, id="exact"),
    pytest.param("调解员", MEDIATORS, 1.0, 1.0, 1.0, id="shorter-question-word-inside"),
    pytest.param("专兼职人民调解员", "全镇人民调解员63名", 0.0, 0.8125, 0.8125, id="head-noun"),
    pytest.param("聚众赌博", "查处聚众大额赌博案件3起", 0.0, 0.75, 0.75, id="fuzzy-words-inserted"),
    pytest.param("老百姓", "受益群众1200人次", 0.0, 0.0, 0.9, id="synonym-domain-file"),
    pytest.param("官司", "引导群众通过诉讼解决纠纷", 0.0, 0.0, 0.9, id="synonym-lawsuit"),
    pytest.param("公务员", MEDIATORS, 0.0, 0.0, 0.0, id="absent"),
])
def test_match(term: str, zone: str, exact: float, head: float, meaning: float) -> None:
    assert match(term, zone) == Match(exact, head, pytest.approx(meaning))


@pytest.mark.parametrize(("term", "zone", "found"), [
    pytest.param("矛盾纠纷", "化解纠纷98件", True, id="tail-of-two-characters"),
    pytest.param("网格员", "专职网格员45名", True, id="inside"),
    pytest.param("聚众赌博", "聚众斗殴", False, id="one-pair-of-three-is-not-enough"),
    pytest.param("调解员", "调解委员会", False, id="no-tail-in-zone"),
])
def test_head_match_found(term: str, zone: str, found: bool) -> None:
    assert (head_match(term, zone) > 0) is found


def test_thesaurus_synonyms() -> None:
    words = dict(related("老百姓"))
    assert words["群众"] >= 0.85
    assert "老百姓" not in words
    assert "诉讼" in thesaurus().related("官司")


def test_coverage_weights_rare_words_more() -> None:
    idf = {"人民调解员": 3.0, "搞": 0.2}.get
    found = coverage((("人民调解员", 1.0), ("搞", 0.5)), MEDIATORS, lambda t, k: idf(t, 1.0))
    assert found.exact == pytest.approx(3.0 / 3.2) and found.meaning == pytest.approx(3.0 / 3.2)
    missing = coverage((("公务员", 1.0), ("搞", 0.5)), MEDIATORS, lambda t, k: 1.0)
    assert missing.meaning == 0.0
    assert coverage((), MEDIATORS, lambda t, k: 1.0) == Match.none()


def test_missing_weight_is_the_rarest_absent_noun() -> None:
    weight = {"公务员": 4.0, "人民调解员": 3.0, "搞": 0.2}.get
    terms = (("公务员", 1.0), ("人民调解员", 1.0), ("搞", 0.5))
    assert missing_weight(terms, MEDIATORS, lambda t, k: weight(t, 1.0)) == 4.0
    assert missing_weight(terms[1:], MEDIATORS, lambda t, k: weight(t, 1.0)) == 0.0


def test_domain_words_come_in_the_files_order() -> None:
    """The report's word first, as the line lists them (the words a question is searched with depend on it,
    and must not change from run to run)."""
    assert list(thesaurus().related("老百姓"))[:3] == ["群众", "百姓", "居民"]

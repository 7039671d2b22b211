"""English questions read in the reports' words: content phrases, the counted head, and (real model, real jieba,
over the seeds) the Chinese terms, measure-word groups and follow-ups they yield, and a golden answer."""

from collections.abc import Sequence

import pytest

from retrieval.answers.question.english import head, phrases, runs
from retrieval.answers.question.query import Query, split_parts
from retrieval.answers.question.towns import find_towns
from retrieval.engine import Engine


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("How many smoking-control checks did Hangzhoudao log in 2023?", [["smoking-control", "checks"],
                                                                                   ["hangzhoudao"]], id="hyphen"),
    pytest.param("How many people's mediators does Taiping have?", [["mediators"], ["taiping"]], id="possessive"),
    pytest.param("zhongtang mediators how many", [["zhongtang", "mediators"]], id="keywords"),
])
def test_runs(text: str, expected: list[list[str]]) -> None:
    assert runs(text) == expected


def test_town_pinyin_breaks_a_run() -> None:
    assert runs("How many registered volunteers does Banxi have?", {"banxi"}) == [["registered", "volunteers"]]


def test_phrases_are_adjacent_words() -> None:
    assert phrases([["legal", "adviser", "visits"]], longest=2) == [
        "legal", "adviser", "visits", "legal adviser", "adviser visits"]


@pytest.mark.parametrize(("text", "counted"), [
    pytest.param("How many administrative penalties followed the inspections?", ["administrative", "penalties"],
                 id="past-tense-ends-it"),
    pytest.param("how many people's mediation committees does Banxi have", ["mediation", "committees"],
                 id="possessive-skipped"),
    pytest.param("How many people did the campaign reach?", [], id="people-is-a-measure"),
    pytest.param("What was the total subsidy?", [], id="no-how-many"),
])
def test_head(text: str, counted: list[str]) -> None:
    assert head(text) == counted


def _read(engine: Engine, question: str, history: Sequence[str] = ()) -> Query:
    return engine.understand(question, history)


@pytest.mark.parametrize(("question", "terms", "groups"), [
    pytest.param("How many people's mediators does Taiping have?", {"人民调解员"}, ("person",), id="mediators"),
    pytest.param("How many registered volunteers does Banxi have in total?", {"注册", "志愿者"}, ("person",),
                 id="registered-not-in-glossary"),
    pytest.param("How many yuan of fines did Taiping impose?", {"罚款"}, ("money",), id="yuan"),
    pytest.param("How many times did Guantang's legal advisers visit villages?", {"法律顾问"}, ("times",),
                 id="times"),
    pytest.param("What percent of Shuangta's cadres got legal training?", set(), ("percent",), id="percent"),
    pytest.param("How many households in Zhongtang got subsidies?", set(), ("household",), id="households"),
])
def test_english_terms_and_groups(seed_engine: Engine, question: str, terms: set[str],
                                  groups: tuple[str, ...]) -> None:
    query = _read(seed_engine, question)
    assert query.english and terms <= {t for t, _ in query.terms}
    assert set(groups) <= set(query.groups) if len(groups) > 1 else query.groups == groups
    assert all(t in "".join(seed_engine.searcher.corpus.passages[int(r)].text
                            for r in seed_engine.searcher.rows(seed_engine.reports())) for t, _ in query.terms)


def test_people_s_committees_are_not_people(seed_engine: Engine) -> None:
    query = _read(seed_engine, "How many people's mediation committees does Taiping coordinate?")
    assert "调解委员会" in {t for t, _ in query.terms} and "person" not in query.groups


def test_words_the_passages_lack_are_not_invented(seed_engine: Engine) -> None:
    """A name the model cannot tie to any word of the passages maps to nothing, not to the nearest word."""
    query = _read(seed_engine, "How many Qwzxv Blorpt does Taiping have?")
    assert query.terms == ()


def test_english_follow_up_keeps_town_and_topic(seed_engine: Engine) -> None:
    query = _read(seed_engine, "And how many of them are key persons?",
                  ["How many community correction subjects does Zhongtang have?"])
    assert query.towns == ("中塘镇",) and "重点人员" in {t for t, _ in query.terms}
    assert query.context  # the previous question's topic goes with it


def test_english_follow_up_without_topic_inherits_it(seed_engine: Engine) -> None:
    query = _read(seed_engine, "What about Zhongtang?", ["How many registered volunteers does Banxi have in total?"])
    assert query.towns == ("中塘镇",) and query.inherited and "志愿者" in {t for t, _ in query.terms}


@pytest.mark.parametrize("question", [
    pytest.param("How many people's mediators does Qingshui Town have?", id="town"),
    pytest.param("How many legal-aid cases did Dongkou county handle in 2024?", id="county"),
])
def test_english_unit_the_corpus_lacks_is_unknown(seed_engine: Engine, question: str) -> None:
    query = _read(seed_engine, question)
    assert query.towns == () and len(query.unknown_towns) == 1
    answer = seed_engine.ask(question).to_json()
    assert answer["found"] is False and answer["figures"] == []


def test_golden_english_question_over_the_seeds(seed_engine: Engine) -> None:
    answer = seed_engine.ask("How many registered volunteers does Banxi have in total?").to_json()
    assert answer["found"] and answer["figures"][0]["town"] == "板溪镇"
    assert answer["figures"][0]["text"] == "1646人"


def test_english_question_of_two_figures_is_split() -> None:
    assert split_parts("Wuchang 2024: how many lawsuits in total, and how many of them were civil cases?") == [
        "Wuchang 2024: how many lawsuits in total", "and how many of them were civil cases"]


@pytest.mark.parametrize(("text", "unknown"), [
    pytest.param("How many mediators does Qingshui Town have?", ["Qingshui Town"], id="unknown-town"),
    pytest.param("Which township trained more people, Taiping or Banxi?", [], id="which-is-no-name"),
    pytest.param("How many mediators does Taiping town have?", [], id="known-town"),
])
def test_english_unit_names(text: str, unknown: list[str]) -> None:
    assert find_towns(text, ["太平镇", "板溪镇"])[1] == unknown

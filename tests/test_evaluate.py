"""Scoring answers against gold questions, on hand-built answer JSON (the shape of ``Answer.to_json``)."""

from pathlib import Path

import pytest

from retrieval.tools.evaluate import Report, read_gold, score, summary_lines

MEDIATORS = "统筹20个人民调解委员会、专兼职人民调解员63名"
RADIO = "远景二村“声声远景”广播电台"


def gold(kind: str, figures: list[str], town: str | None = "太平镇", evidence: list[str] | None = None,
         gid: str = "g1") -> dict:
    return {"id": gid, "question": "？", "kind": kind, "town": town, "year": 2023, "figures": figures,
            "evidence": evidence if evidence is not None else [MEDIATORS]}


def answer(text: str = "", figures: list[tuple[str, str]] = (), *, found: bool = True,
           sources: list[tuple[str, str]] = ()) -> dict:
    """``figures``: (text, town) in answer order; ``sources``: (town, passage)."""
    return {
        "question": "？",
        "found": found,
        "kind": "figure",
        "answer": text,
        "figures": [{"text": t, "town": town, "value": None, "unit": "", "qualifier": None, "subject": "",
                     "year": 2023, "sentence": ""} for t, town in figures],
        "sources": [{"town": town, "passage": passage, "doc": "", "title": "", "year": 2023, "section": "",
                     "score": 0.5} for town, passage in sources],
    }


@pytest.mark.parametrize(("expected", "got", "town", "ok"), [
    pytest.param("63名", "63名", "太平镇", True, id="right-figure"),
    pytest.param("91 盏", "91盏", "太平镇", True, id="whitespace-ignored"),
    pytest.param("19个村", "19个", "太平镇", True, id="leading-part-without-counted-noun"),
    pytest.param("40余场", "40余场", "太平镇", True, id="qualifier-kept"),
    pytest.param("40余场", "40场", "太平镇", False, id="dropped-qualifier-yu"),
    pytest.param("80多场次", "80场次", "太平镇", False, id="dropped-qualifier-duo"),
    pytest.param("约800人次", "800人次", "太平镇", False, id="dropped-prefix-qualifier"),
    pytest.param("十余次", "十", "太平镇", False, id="leading-part-stops-before-yu"),
    pytest.param("316件", "31", "太平镇", False, id="truncated-number"),
    pytest.param("63名", "20个", "太平镇", False, id="wrong-figure"),
    pytest.param("63名", "63名", "中塘镇", False, id="wrong-town"),
])
def test_figure(expected: str, got: str, town: str, ok: bool) -> None:
    assert score(gold("figure", [expected]), answer(f"{town}：{got}", [(got, town)])) is ok


def test_figure_is_judged_on_the_first_figure_only() -> None:
    assert not score(gold("figure", ["63名"]), answer("", [("20个", "太平镇"), ("63名", "太平镇")]))
    assert score(gold("figure", ["63名"]), answer("", [("63名", "太平镇"), ("20个", "太平镇")]))


def test_figure_without_any_figure_fails() -> None:
    assert not score(gold("figure", ["63名"]), answer("太平镇有专兼职人民调解员63名", found=True))


def test_figure_of_any_town_when_gold_names_none() -> None:
    assert score(gold("figure", ["63名"], town=None), answer("", [("63名", "中塘镇")]))


MULTI = ["451家", "364家", "27家"]


@pytest.mark.parametrize(("text", "first_town", "ok"), [
    pytest.param("中塘镇企业451家，其中工贸企业364家，危化企业27家", "中塘镇", True, id="all-figures"),
    pytest.param("中塘镇企业 451 家，其中工贸企业364 家，危化企业27家", "中塘镇", True, id="whitespace-ignored"),
    pytest.param("中塘镇企业451家，其中工贸企业364家", "中塘镇", False, id="one-missing"),
    pytest.param("中塘镇企业451家，其中工贸企业364家，危化企业27家", "太平镇", False, id="other-towns-figure-first"),
])
def test_multi(text: str, first_town: str, ok: bool) -> None:
    figures = [(f, first_town) for f in MULTI]
    assert score(gold("multi", MULTI, town="中塘镇"), answer(text, figures)) is ok


@pytest.mark.parametrize(("text", "ok"), [
    pytest.param("中塘镇104名调解员；太平镇专兼职人民调解员63名", True, id="both-towns"),
    pytest.param("中塘镇104名调解员最多", False, id="one-town-missing"),
])
def test_compare_with_figures(text: str, ok: bool) -> None:
    figures = [("104名", "中塘镇"), ("63名", "太平镇")]
    assert score(gold("compare", ["104名", "63名"], town=None), answer(text, figures)) is ok


def test_compare_without_figures_is_scored_as_an_example() -> None:
    compare = gold("compare", [], town=None, evidence=[RADIO])
    quoted = answer(f"太平镇：「借助{RADIO}等新支点」", sources=[("太平镇", RADIO)])
    assert score(compare, quoted)
    assert not score(compare, answer("太平镇有广播电台", sources=[("太平镇", RADIO)]))


@pytest.mark.parametrize(("text", "found", "town", "ok"), [
    pytest.param(f"太平镇（2023年）：「{MEDIATORS}的职能作用」", True, "太平镇", True, id="quotes-evidence"),
    pytest.param("太平镇（2023年）：「统筹20个人民调解委员会、 专兼职人民调解员 63 名」", True, "太平镇", True,
                 id="quote-whitespace-ignored"),
    pytest.param("太平镇（2023年）：统筹了人民调解委员会", True, "太平镇", False, id="paraphrase-fails"),
    pytest.param(f"「{MEDIATORS}」", True, "太平镇", False, id="town-not-named"),
    pytest.param(f"没有找到。最接近的段落（太平镇）：「{MEDIATORS}」", False, "太平镇", False, id="not-found"),
    pytest.param(f"中塘镇（2021年）：「{MEDIATORS}」", True, "太平镇", False, id="wrong-town-named"),
])
def test_example(text: str, found: bool, town: str, ok: bool) -> None:
    assert score(gold("example", [], town=town), answer(text, found=found, sources=[(town, MEDIATORS)])) is ok


def test_example_without_gold_town_needs_a_source_town_named() -> None:
    example = gold("example", [], town=None)
    assert score(example, answer(f"太平镇：「{MEDIATORS}」", sources=[("太平镇", MEDIATORS)]))
    assert not score(example, answer(f"「{MEDIATORS}」", sources=[("太平镇", MEDIATORS)]))


@pytest.mark.parametrize(("found", "figures", "ok"), [
    pytest.param(False, [], True, id="says-not-found"),
    pytest.param(False, [("63名", "太平镇")], False, id="not-found-but-a-figure"),
    pytest.param(True, [("63名", "太平镇")], False, id="found-with-a-figure"),
    pytest.param(True, [], False, id="claims-found"),
])
def test_none(found: bool, figures: list[tuple[str, str]], ok: bool) -> None:
    assert score(gold("none", [], evidence=[]), answer("太平镇（2023年）中没有找到", figures, found=found)) is ok


@pytest.mark.parametrize(("figures", "answer_figures", "text", "ok"), [
    pytest.param(["98件"], [("98件", "太平镇")], "太平镇98件", True, id="one-figure-as-figure"),
    pytest.param(["98件"], [("98余件", "太平镇")], "太平镇98余件", False, id="one-figure-wrong"),
    pytest.param(["243次", "175人次"], [("243次", "太平镇")], "太平镇243次，其中175人次", True, id="two-figures-as-multi"),
    pytest.param(["243次", "175人次"], [("243次", "太平镇")], "太平镇243次", False, id="two-figures-one-missing"),
])
def test_followup_is_scored_as_its_own_kind(figures: list[str], answer_figures: list[tuple[str, str]], text: str,
                                             ok: bool) -> None:
    assert score(gold("followup", figures), answer(text, answer_figures)) is ok


def test_followup_without_figures_is_scored_as_an_example() -> None:
    followup = gold("followup", []) | {"doc": "002_2896be808ceda779.txt"}
    assert score(followup, answer(f"太平镇：「{MEDIATORS}」", sources=[("太平镇", MEDIATORS)]))
    assert not score(followup, answer("太平镇：有调解委员会", sources=[("太平镇", MEDIATORS)]))


def test_followup_without_figures_or_report_is_scored_as_none() -> None:
    followup = gold("followup", [], evidence=[])
    assert score(followup, answer("太平镇（2023年）中没有找到", found=False))
    assert not score(followup, answer("太平镇：63名", [("63名", "太平镇")], found=False))
    with_evidence_only = gold("followup", [])  # no doc: the evidence alone does not make it an example
    assert score(with_evidence_only, answer("没有找到", found=False))


def test_report_counts_accuracy_failures_and_recall() -> None:
    report = Report()
    right = answer("太平镇：63名", [("63名", "太平镇")], sources=[("太平镇", "其他"), ("太平镇", MEDIATORS + "的职能作用")])
    wrong = answer("太平镇：20个", [("20个", "太平镇")], sources=[("太平镇", "统筹20个 人民调解委员会、专兼职人民调解员63名")])
    assert report.add(gold("figure", ["63名"], gid="p001"), right) is True
    assert report.add(gold("figure", ["63名"], gid="p002"), wrong) is False
    assert report.add(gold("none", [], evidence=[], gid="p003"), answer(found=False)) is True
    data = report.to_json()
    assert (data["correct"], data["total"], data["failures"]) == (2, 3, ["p002"])
    assert data["accuracy"] == pytest.approx(2 / 3)
    assert data["by_kind"] == {"figure": {"correct": 1, "total": 2}, "none": {"correct": 1, "total": 1}}
    assert (data["recall_at_1"], data["recall_at_3"]) == (0.5, 1.0)
    lines = list(summary_lines(report))
    assert lines[0] == "准确率：2/3（66.7%）"
    assert "检索召回：recall@1 50.0%，recall@3 100.0%" in lines
    assert lines[-1] == "未通过：p002"


def test_report_counts_figures_printed_for_none_questions() -> None:
    report = Report()
    report.add(gold("none", [], evidence=[], gid="n1"), answer("没有找到", found=False))
    report.add(gold("none", [], evidence=[], gid="n2"), answer("太平镇：63名", [("63名", "太平镇")], found=False))
    unanswerable_followup = gold("followup", [], evidence=[], gid="n3")
    report.add(unanswerable_followup, answer("太平镇：20个", [("20个", "太平镇")]))
    report.add(gold("figure", ["63名"], gid="f1"), answer("太平镇：20个", [("20个", "太平镇")]))
    data = report.to_json()
    assert data["none_with_figures"] == 2 and data["failures"] == ["n2", "n3", "f1"]
    assert "none 题给出的数字：2" in list(summary_lines(report))


def test_empty_report() -> None:
    data = Report().to_json()
    assert (data["accuracy"], data["total"], data["recall_at_1"], data["failures"]) == (0.0, 0, 0.0, [])


def test_read_gold(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text('{"id": "p001", "kind": "figure"}\n\n{"id": "p002", "kind": "none"}\n', encoding="utf-8")
    assert [row["id"] for row in read_gold(path)] == ["p001", "p002"]

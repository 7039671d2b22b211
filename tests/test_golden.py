"""Golden tests over the bundled seeds with the real model: the right report and figure, or an honest none.

The gold questions of ../shared/eval run in full when that folder is present (it is, in CI); the table in
tests/data/golden.jsonl adds harder questions of our own (typos, traditional characters, near misses,
wrong years, unknown towns, English).
"""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from docx import Document

from retrieval.engine import Engine
from retrieval.evaluate import read_gold, score
from tests.conftest import SHARED

GOLD = SHARED / "eval" / "questions.jsonl"
OWN = [json.loads(line) for line in (Path(__file__).parent / "data" / "golden.jsonl").read_text("utf-8").splitlines()]


@pytest.mark.parametrize("gold", read_gold(GOLD), ids=lambda g: g["id"])
def test_gold_question(seed_engine: Engine, gold: dict) -> None:
    answer = seed_engine.ask(gold["question"], gold.get("context") or ()).to_json()
    assert score(gold, answer), answer["answer"]
    if gold["kind"] == "none":
        assert answer["found"] is False and answer["figures"] == []


@pytest.mark.parametrize("case", OWN, ids=lambda c: c["id"])
def test_own_question(seed_engine: Engine, case: dict) -> None:
    answer = seed_engine.ask(case["question"])
    data = answer.to_json()
    if case["figure"] is None:
        assert not answer.found and data["figures"] == [], answer.text
        return
    assert answer.found, answer.text
    first = data["figures"][0]
    assert first["text"] == case["figure"] and first["town"] == case["town"], answer.text
    assert first["sentence"] in answer.text and case["figure"] in answer.text


def test_answer_quotes_the_report_verbatim(seed_engine: Engine) -> None:
    """Every figure's sentence is copied from its report file, and the source names the report."""
    answer = seed_engine.ask("中塘镇一共开展了多少场法治宣传活动？")
    figure = answer.to_json()["figures"][0]
    report_text = (Path(__file__).parents[1] / "seeds" / answer.citations[0].source.report.source).read_text("utf-8")
    assert figure["text"] == "40余场" and figure["sentence"] in report_text
    assert "《中塘镇2021年法治政府建设工作总结》" in answer.text


def test_follow_up_uses_the_previous_topic(seed_engine: Engine) -> None:
    answer = seed_engine.ask("那双塔镇呢？", ["中塘镇2021年化解了多少矛盾纠纷？"])
    assert answer.to_json()["figures"][0]["text"] == "98件"
    assert answer.citations[0].source.report.town == "双塔镇"


def test_follow_up_borrows_the_topic_for_another_town(seed_engine: Engine) -> None:
    answer = seed_engine.ask("那中塘镇呢？", ["太平镇安全生产行政处罚罚了多少钱？"])
    assert answer.to_json()["figures"][0]["text"] == "18.39万元"


def test_compare_never_offers_another_indicator(seed_engine: Engine) -> None:
    """Grid workers: only reports that count grid workers are listed; 十余次 (campaigns) is not one."""
    answer = seed_engine.ask("各镇的网格员有多少？")
    assert answer.kind == "compare"
    assert all(c.figure is not None and c.figure.group == "person" for c in answer.citations)
    assert all("网格员" in c.sentence for c in answer.citations)


def test_several_figures_in_one_message(seed_engine: Engine) -> None:
    answer = seed_engine.ask("板溪镇接访下访了多少次？化解信访积案多少件？")
    assert [f["text"] for f in answer.to_json()["figures"]] == ["96次", "25件"]
    assert answer.kind == "multi" and "96次" in answer.text and "25件" in answer.text


def test_compare_names_towns_without_the_figure(seed_engine: Engine) -> None:
    answer = seed_engine.ask("各镇化解矛盾纠纷的数量分别是多少？")
    assert answer.kind == "compare"
    assert any("太平镇" in town for town in answer.missing)
    towns = [c.source.report.town for c in answer.citations]
    assert "太平镇" not in towns and len(towns) == 4


def test_json_shape(seed_engine: Engine) -> None:
    data = seed_engine.ask("太平镇有多少人民调解员？").to_json()
    assert set(data) >= {"question", "found", "kind", "answer", "figures", "sources"}
    assert data["figures"][0] == data["figures"][0] | {"text": "63名", "value": 63, "unit": "名", "qualifier": None,
                                                       "town": "太平镇", "year": 2023}
    assert {"doc", "title", "town", "year", "section", "passage", "score"} <= set(data["sources"][0])


def _qingshan_docx(path: Path) -> Path:
    """A report the seeds have never seen: another layout, a table with a column per year."""
    document = Document()
    for line in ("青山镇2024年法治政府建设工作报告",
                 "2024年，青山镇坚持以习近平法治思想为指导，扎实推进法治政府建设，现将有关情况报告如下：",
                 "一、主要工作成效",
                 "（一）加强人民调解工作。全镇共有人民调解委员会15个，人民调解员48名，全年调解矛盾纠纷112件。",
                 "（二）深化普法宣传。开展普法宣传活动30余场，发放宣传资料约1.2万份，受教育群众超过5000人次。"):
        document.add_paragraph(line)
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["项目", "2023年", "2024年"], ["法律咨询", "320人次", "410人次"],
                             ["法律援助案件", "12件", "18件"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(str(path))
    return path


@pytest.fixture(scope="module")
def with_new_report(seed_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("new-report")
    shutil.copytree(seed_engine.config.index_dir, folder / "index", symlinks=True)
    engine = Engine.open(replace(seed_engine.config, index_dir=folder / "index"))
    engine.add_report(_qingshan_docx(folder / "青山镇.docx"))
    return engine


@pytest.mark.parametrize(("question", "figure"), [
    pytest.param("青山镇有多少人民调解员？", "48名", id="mediators"),
    pytest.param("青山镇有几个人民调解委员会？", "15个", id="committees"),
    pytest.param("青山镇发放了多少宣传资料？", "约1.2万份", id="materials-approx"),
    pytest.param("青山镇2024年法律援助案件有多少件？", "18件", id="table-this-year"),
    pytest.param("青山镇法律咨询多少人次？", "410人次", id="table-report-year"),
    pytest.param("青山镇有多少公务员？", None, id="none"),
])
def test_unseen_docx_report(with_new_report: Engine, question: str, figure: str | None) -> None:
    answer = with_new_report.ask(question)
    figures = answer.to_json()["figures"]
    if figure is None:
        assert not answer.found and figures == [], answer.text
    else:
        assert figures and figures[0]["text"] == figure and figures[0]["town"] == "青山镇", answer.text


def test_unseen_report_joins_comparisons(with_new_report: Engine) -> None:
    answer = with_new_report.ask("哪个镇的人民调解员最多？")
    assert [c.figure.text for c in answer.citations if c.figure] == ["104名", "63名", "48名"]

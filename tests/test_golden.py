"""Golden tests with the real model: the right report and figure, or an honest none.

The gold questions of ../shared/eval run in full when that folder is present (it is, in CI): over the
bundled seeds (questions.jsonl) and over the eight reports of ../shared/eval/reports indexed beside the
seeds. Every question the reports cannot answer must get no figure at all (checked one by one); the
answerable ones are held as a set, at the accuracy the answer core reaches today. The table in
tests/data/golden.jsonl adds harder questions of our own (typos, traditional characters, near misses,
wrong years, unknown towns, English).
"""

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from retrieval.answers.reply.answer import Answer
from retrieval.engine import Engine
from retrieval.tools.evaluate import Report, read_gold
from retrieval.tools.evaluate import _kind as scored_kind
from tests.conftest import SHARED

SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"

GOLD = read_gold(SHARED / "eval" / "questions.jsonl")
REPORTS_GOLD = read_gold(SHARED / "eval" / "reports" / "questions.jsonl")
OWN = [json.loads(line) for line in (Path(__file__).parent / "data" / "golden.jsonl").read_text("utf-8").splitlines()]
# The accuracy each set holds today (measured 2026-12-01 on the fitted decision); raise it as answers improve.
GOLD_ACCURACY = 0.80
REPORTS_ACCURACY = 0.70
OWN_ACCURACY = 0.74


def _none(golds: Iterable[dict[str, Any]]) -> list[Any]:
    return [pytest.param(g, id=g["id"]) for g in golds if scored_kind(g) == "none"]


def _run(engine: Engine, golds: Iterable[dict[str, Any]]) -> Report:
    report = Report()
    for gold in golds:
        report.add(gold, engine.ask(gold["question"], gold.get("context") or ()).to_json())
    return report


def _no_figure(engine: Engine, gold: dict[str, Any]) -> None:
    answer = engine.ask(gold["question"], gold.get("context") or ()).to_json()
    assert answer["found"] is False and answer["figures"] == [], answer["answer"]


@pytest.mark.parametrize("gold", _none(GOLD))
def test_gold_none_question_gets_no_figure(seed_engine: Engine, gold: dict) -> None:
    _no_figure(seed_engine, gold)


def test_gold_accuracy(seed_engine: Engine) -> None:
    data = _run(seed_engine, GOLD).to_json()
    assert data["none_with_figures"] == 0
    assert data["accuracy"] >= GOLD_ACCURACY, data["failures"]


@pytest.mark.parametrize("gold", _none(REPORTS_GOLD))
def test_reports_none_question_gets_no_figure(reports_engine: Engine, gold: dict) -> None:
    _no_figure(reports_engine, gold)


def test_reports_accuracy(reports_engine: Engine) -> None:
    data = _run(reports_engine, REPORTS_GOLD).to_json()
    assert data["none_with_figures"] == 0
    assert data["accuracy"] >= REPORTS_ACCURACY, data["failures"]


def test_reports_are_indexed_beside_the_seeds(reports_engine: Engine, seed_engine: Engine) -> None:
    towns = {r.town for r in reports_engine.reports()}
    assert {r.town for r in seed_engine.reports()} < towns and len(towns) == 13
    named = {t for g in REPORTS_GOLD for t in ([g["town"]] if isinstance(g["town"], str) else g["town"] or [])}
    assert named <= towns


@pytest.mark.parametrize("case", [c for c in OWN if c["figure"] is None], ids=lambda c: c["id"])
def test_own_none_question_gets_no_figure(seed_engine: Engine, case: dict) -> None:
    answer = seed_engine.ask(case["question"])
    assert answer.to_json()["figures"] == [], answer.text


def _own_right(engine: Engine, case: dict) -> bool:
    """The expected figure first, of the expected town, quoted with its sentence; or, for a case the
    reports cannot answer, "not found" and no figure."""
    answer = engine.ask(case["question"])
    figures = answer.to_json()["figures"]
    if case["figure"] is None:
        return not answer.found and not figures
    if not answer.found or not figures:
        return False
    first = figures[0]
    return (first["text"] == case["figure"] and first["town"] == case["town"]
            and first["sentence"] in answer.text and case["figure"] in answer.text)


def test_own_questions_accuracy(seed_engine: Engine) -> None:
    wrong = [c["id"] for c in OWN if not _own_right(seed_engine, c)]
    assert 1 - len(wrong) / len(OWN) >= OWN_ACCURACY, wrong


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
    assert "太平镇" not in [c.source.report.town for c in answer.citations]


def test_figure_asked_only_aside_gets_the_units_that_did_it(seed_engine: Engine) -> None:
    """"哪些镇……？有次数的话说一下": the units that did it, each with its passage (and the figure where it has one),
    not "没有找到" because some units have no figure."""
    answer = seed_engine.ask("哪些镇组织过普法进企业？有次数的话说一下")
    assert (answer.kind, answer.found) == ("compare", True)
    assert {"太平镇", "官塘镇", "中塘镇"} <= {s.report.town for s in answer.sources}
    assert "进企业200家次" in answer.text


def _first(answer: Answer) -> tuple[str, str] | None:
    figures = answer.to_json()["figures"]
    return (figures[0]["text"], figures[0]["town"]) if figures else None


def _towns(answer: Answer) -> list[str]:
    return [c.source.report.town for c in answer.citations if c.figure]


# Conversations and comparisons over the seeds: (id, question, earlier questions, what a right answer shows).
DIALOGUES: list[tuple[str, str, list[str], Callable[[Answer], bool]]] = [
    ("follow-up-same-topic", "那双塔镇呢？", ["中塘镇2021年化解了多少矛盾纠纷？"],
     lambda a: _first(a) == ("98件", "双塔镇")),
    ("follow-up-borrows-topic", "那中塘镇呢？", ["太平镇安全生产行政处罚罚了多少钱？"],
     lambda a: _first(a) == ("18.39万元", "中塘镇")),
    ("several-figures", "板溪镇接访下访了多少次？化解信访积案多少件？", [],
     lambda a: [f["text"] for f in a.to_json()["figures"]] == ["96次", "25件"]),
    ("compare-every-town-with-the-figure", "各镇化解矛盾纠纷的数量分别是多少？", [],
     lambda a: len(_towns(a)) == 4 and "太平镇" not in _towns(a)),
    ("compare-most", "哪个镇的人民调解员最多？", [],
     lambda a: [c.figure.text for c in a.citations if c.figure][:2] == ["104名", "63名"]),
]
DIALOGUES_RIGHT = 2  # of 5, measured 2026-12-01


def test_dialogues(seed_engine: Engine) -> None:
    wrong = [name for name, question, history, right in DIALOGUES if not right(seed_engine.ask(question, history))]
    assert len(DIALOGUES) - len(wrong) >= DIALOGUES_RIGHT, wrong


def test_english_follow_up_asks_its_own_figure(seed_engine: Engine) -> None:
    """"And how many … pending review?" after a question about the grid officers' petition matters: the matters
    awaiting review (除3件待审核通过外), not the total asked before nor the letters still being handled (4件)."""
    answer = seed_engine.ask("And how many of those were pending review?",
                             ["How many petition matters did grid officers in Zhongtang take on for residents in 2021?"])
    assert _first(answer) == ("3件", "中塘镇")


@pytest.mark.parametrize("question", ["雙塔鎮這份報告是哪天報的？", "双塔镇的总结落款日期", "When was the Shuangta report signed?"])
def test_report_date_is_the_date_under_the_signature(seed_engine: Engine, question: str) -> None:
    answer = seed_engine.ask(question).to_json()
    [figure] = answer["figures"]
    assert (figure["town"], figure["text"]) == ("双塔镇", "2023年2月23日")
    signature = (SEEDS_DIR / "001_b234a11555c8550c.txt").read_text("utf-8").rstrip().splitlines()[-1]
    assert signature.strip() == figure["text"], "quoted as the report prints it"


def test_reports_without_a_signed_date_say_so(seed_engine: Engine) -> None:
    one = seed_engine.ask("太平镇的报告是什么时候报的").to_json()
    assert one["found"] is False and one["figures"] == [] and "没有落款日期" in one["answer"]
    every = seed_engine.ask("各镇的报告都是哪天出的？").to_json()
    assert {f["town"]: f["text"] for f in every["figures"]} == {"中塘镇": "2021年12月31日", "双塔镇": "2023年2月23日"}
    assert "太平镇" in every["answer"] and "官塘镇" in every["answer"]


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
    engine = Engine.open(replace(seed_engine.config, index_dir=folder / "index"), encoder=seed_engine.encoder)
    engine.add_report(_qingshan_docx(folder / "青山镇.docx"))
    return engine


UNSEEN = [
    ("mediators", "青山镇有多少人民调解员？", "48名"),
    ("committees", "青山镇有几个人民调解委员会？", "15个"),
    ("materials-approx", "青山镇发放了多少宣传资料？", "约1.2万份"),
    ("table-this-year", "青山镇2024年法律援助案件有多少件？", "18件"),
    ("table-report-year", "青山镇法律咨询多少人次？", "410人次"),
    ("none", "青山镇有多少公务员？", None),
]
UNSEEN_RIGHT = 4  # of 7 with the comparison below, measured 2026-12-01


@pytest.mark.parametrize(("question", "figure"), [pytest.param(q, f, id=i) for i, q, f in UNSEEN if f is None])
def test_unseen_docx_none_gets_no_figure(with_new_report: Engine, question: str, figure: None) -> None:
    answer = with_new_report.ask(question)
    assert not answer.found and answer.to_json()["figures"] == [], answer.text


def _unseen_right(engine: Engine, question: str, figure: str | None) -> bool:
    answer = engine.ask(question)
    if figure is None:
        return not answer.found and not answer.to_json()["figures"]
    return _first(answer) == (figure, "青山镇")


def test_unseen_docx_report(with_new_report: Engine) -> None:
    """The figures of a report the seeds have never seen (a table with a column per year among them), and
    that report joining a comparison."""
    wrong = [name for name, question, figure in UNSEEN if not _unseen_right(with_new_report, question, figure)]
    compare = with_new_report.ask("哪个镇的人民调解员最多？")
    if [c.figure.text for c in compare.citations if c.figure] != ["104名", "63名", "48名"]:
        wrong.append("joins-comparisons")
    assert len(UNSEEN) + 1 - len(wrong) >= UNSEEN_RIGHT, wrong


def test_bare_count_finds_its_figure_wherever_it_stands(seed_engine: Engine) -> None:
    """"一共有几个村" has no other words to find a passage by: every figure that counts villages is a candidate."""
    answer = seed_engine.ask("中塘镇下面一共有几个村？").to_json()
    assert answer["found"] and answer["figures"][0]["text"].startswith("24个")
    assert "全镇24个村" in answer["answer"]


@pytest.mark.parametrize("question", [
    "关坝镇有多少名执法人员没考过执法证？",  # the report gives those who passed
    "岩山镇每个网格平均配几个网格员？",  # it gives the grid workers in all
    "增福镇明年打算搞多少次执法检查？",  # it gives this year's inspections
])
def test_a_qualified_question_is_not_answered_with_the_plain_figure(reports_engine: Engine, question: str) -> None:
    answer = reports_engine.ask(question).to_json()
    assert not answer["found"] and answer["figures"] == []


def test_an_ordinal_question_takes_the_phase_before_its_noun(seed_engine: Engine) -> None:
    """"第几期": in "项目二期农业大棚" the noun after the figure is what the phase builds, not what is counted."""
    answer = seed_engine.ask("中塘镇农光互补项目建到第几期？").to_json()
    assert answer["found"] and answer["figures"][0]["text"].endswith("二期")


def test_each_ones_figure_answers_only_a_question_about_each(reports_engine: Engine) -> None:
    """"全镇每个职能科室都有2名以上…具备了执法资格": each office's figure, not how many there are in all."""
    total = reports_engine.ask("陶家镇全镇具备执法资格的总共有多少人？").to_json()
    assert "2名以上" not in [f["text"] for f in total["figures"]]
    each = reports_engine.ask("陶家镇每个科室至少有几名执法人员？").to_json()
    assert each["found"] and each["figures"][0]["text"].endswith("2名以上")


def test_example_naming_no_unit_quotes_several_reports(reports_engine: Engine) -> None:
    answer = reports_engine.ask("哪里有推进政务公开的好做法？")
    units = [c.source.report.town for c in answer.citations]
    assert answer.found and answer.kind == "example"
    assert 2 <= len(set(units)) == len(units) <= 3
    assert all("公开" in c.sentence for c in answer.citations)


def test_example_naming_a_unit_quotes_that_report_only(reports_engine: Engine) -> None:
    answer = reports_engine.ask("官塘镇推进政务公开有什么做法？")
    assert answer.found and [c.source.report.town for c in answer.citations] == ["官塘镇"]

"""extract_figures over real report sentences (tests/data/figures.jsonl) and hand-made edge cases.

Each row of the table names a sentence and the figures it holds, in order: text as printed, unit,
qualifier, and where the row gives them, subject, value, kind, bound, high and period. Rows whose id
starts with ``hand-`` are made up; ``report-`` rows are copied verbatim from ../shared/eval/reports/docs,
every other sentence from ``seeds/``.
"""

import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from retrieval.reports.documents import read_report
from retrieval.reports.figures import UNIT_GROUPS, Figure, cn_number, extract_figures
from retrieval.reports.readers import read_blocks
from retrieval.tools.evaluate import figure_matches, read_gold
from seeds import seed_paths
from tests.conftest import SHARED

TABLE = [json.loads(line) for line in
         (Path(__file__).parent / "data" / "figures.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
SEED_TEXT = "\n".join(path.read_text(encoding="utf-8") for path in seed_paths())
REPORT_DOCS = SHARED / "eval" / "reports" / "docs"


def _report_text() -> str:
    return "\n".join(block for path in sorted(REPORT_DOCS.iterdir()) for block in read_blocks(path))


def _seed_passages() -> list[str]:
    return [passage.text for path in seed_paths() for passage in read_report(path)[1]]


def _shown(figure: Figure, keys: list[str]) -> dict:
    return {key: getattr(figure, key) for key in keys}


@pytest.mark.parametrize("row", [pytest.param(row, id=row["id"]) for row in TABLE])
def test_extract_figures(row: dict) -> None:
    got = extract_figures(row["sentence"])
    assert [f.text for f in got] == [e["text"] for e in row["expected"]]
    assert [_shown(f, list(e)) for f, e in zip(got, row["expected"], strict=True)] == row["expected"]


@pytest.mark.parametrize("row", [pytest.param(row, id=row["id"]) for row in TABLE if not row["id"].startswith("hand-")])
def test_real_sentences_are_verbatim_from_the_reports(row: dict) -> None:
    assert row["sentence"] in (_report_text() if row["id"].startswith("report-") else SEED_TEXT)


def test_figures_per_report_stay_sane() -> None:
    """Over every real report: one figure per 50 characters at most, and none of the false kinds
    (a year alone, an ordinal, a list marker)."""
    paths = list(seed_paths()) + sorted(REPORT_DOCS.iterdir())
    for path in paths:
        passages = read_report(path)[1]
        figures = [f for p in passages for f in extract_figures(p.text)]
        chars = sum(len(p.text) for p in passages)
        assert 0 < len(figures) <= chars / 50, (path.name, len(figures), chars)
        false = [f.text for f in figures if re.fullmatch(r"(?:19|20)\d\d年|第.+|[一二三四五六七八九十]+是", f.text)]
        assert false == [], path.name


def test_table_covers_figures_and_near_misses() -> None:
    assert sum(bool(row["expected"]) for row in TABLE) >= 20
    assert sum(not row["expected"] for row in TABLE) >= 8


def test_figure_text_and_span_are_copied_from_the_sentence() -> None:
    checked = 0
    for text in _seed_passages():
        for figure in extract_figures(text):
            assert text[figure.start:figure.end] == figure.text
            checked += 1
    assert checked > 150


def test_figures_come_in_order_without_overlap() -> None:
    for text in _seed_passages():
        figures = extract_figures(text)
        for before, after in pairwise(figures):
            assert before.end <= after.start, (before, after)


def test_subject_never_reaches_into_the_previous_figure() -> None:
    """The subject of a figure is never (a part of) the figure before it: in "19个村值班律师全年值班200人次"
    the subject of 200人次 does not start with the 个 of 19个."""
    leaks = []
    for text in _seed_passages():
        figures = extract_figures(text)
        for before, figure in pairwise(figures):
            if figure.subject and figure.subject in text[before.start:figure.start] \
                    and figure.subject not in text[before.end:figure.start]:
                leaks.append(f"{before.text} → {figure.text}: {figure.subject}")
    assert leaks == [], "\n".join(leaks)


@pytest.mark.parametrize(("sentence", "text", "group"), [
    pytest.param("开展法治宣传活动40余场", "40余场", "times", id="times-chang"),
    pytest.param("累计宣传活动80多场次", "80多场次", "times", id="times-changci"),
    pytest.param("罚款金额总计18.39万元", "18.39万元", "money", id="money-wan-yuan"),
    pytest.param("专兼职人民调解员63名", "63名", "person", id="person-ming"),
    pytest.param("接待来访群众约800人次", "约800人次", "person_times", id="person-times"),
    pytest.param("进企业200家次", "200家次", "visit", id="visit-jiaci"),
    pytest.param("8月16日，召开园区改革动员大会", "8月16日", "date", id="date"),
    pytest.param("安装太阳能路灯 91 盏", "91 盏", "item", id="item-zhan"),
    pytest.param("完成率97.9%", "97.9%", "percent", id="percent"),
    pytest.param("镇村调解各类矛盾纠纷56起", "56起", "case", id="case-qi"),
    pytest.param("排查化解了14宗矛盾纠纷案件", "14宗", "case", id="case-zong"),
    pytest.param("安全生产行政处罚6家", "6家", "org", id="org-jia"),
    pytest.param("对2-3个村派驻法治讲师", "2-3个", "generic", id="generic-ge"),
    pytest.param("构建由镇、村二级河长制组织体系", "二级", "level", id="level-ji"),
    pytest.param("截止到2021年7月12日", "2021年7月12日", "date", id="date-full"),
    pytest.param("板溪宪法宣传周放在12月", "12月", "date", id="date-month"),
    pytest.param("为期2个月的违法建设大整治行动", "2个月", "duration", id="duration-months"),
    pytest.param("机关各单位每半个月上报一次", "每半个月", "frequency", id="frequency-period"),
    pytest.param("法律咨询每周2次", "每周2次", "frequency", id="frequency-count"),
    pytest.param("共组织法律顾问参与合同审查136件次", "136件次", "case", id="case-jianci"),
    pytest.param("居住社区的检查达到1008个次", "1008个次", "visit", id="visit-geci"),
    pytest.param("清运垃圾20吨", "20吨", "weight", id="weight-dun"),
    pytest.param("出动执法车辆12车次", "12车次", "times", id="times-checi"),
    pytest.param("开设法治课堂15堂", "15堂", "times", id="times-tang"),
    pytest.param("抽查行政执法案卷120卷", "120卷", "item", id="item-juan"),
])
def test_figure_group(sentence: str, text: str, group: str) -> None:
    (figure,) = extract_figures(sentence)
    assert (figure.text, figure.group) == (text, group)


@pytest.mark.parametrize(("text", "value"), [
    pytest.param("十", 10, id="ten"),
    pytest.param("十九", 19, id="nineteen"),
    pytest.param("二十", 20, id="twenty"),
    pytest.param("二十三", 23, id="twenty-three"),
    pytest.param("九十九", 99, id="ninety-nine"),
    pytest.param("百", 100, id="hundred-bare"),
    pytest.param("一百零五", 105, id="one-hundred-five"),
    pytest.param("一百一十", 110, id="one-hundred-ten"),
    pytest.param("两百", 200, id="liang-hundred"),
    pytest.param("一千二百", 1200, id="one-thousand-two-hundred"),
    pytest.param("三千零五十", 3050, id="three-thousand-fifty"),
    pytest.param("两千", 2000, id="liang-thousand"),
    pytest.param("〇", 0, id="ling-circle"),
    pytest.param("十万", None, id="wan-out-of-range"),
    pytest.param("十余", None, id="not-a-numeral-yu"),
    pytest.param("12", None, id="arabic-is-not-chinese"),
])
def test_cn_number(text: str, value: int | None) -> None:
    assert cn_number(text) == value


def test_every_group_is_named_once() -> None:
    units = [unit for group in UNIT_GROUPS.values() for unit in group]
    assert len(units) == len(set(units))
    assert {"date", "duration", "frequency", "level"} <= set(UNIT_GROUPS)


def test_frequency_keeps_the_measure_word_of_what_it_counts() -> None:
    (figure,) = extract_figures("法律咨询每周2次")
    assert (figure.kind, figure.group, figure.unit, figure.period, figure.value) == ("frequency", "frequency", "次",
                                                                                  "周", 2)


def test_old_positional_construction_still_works() -> None:
    figure = Figure("63名", 63, "名", None, "调解员", 0, 3)
    assert (figure.kind, figure.bound, figure.high, figure.period, figure.group) == ("count", None, None, None,
                                                                                     "person")


def test_every_gold_figure_is_extracted_from_its_evidence() -> None:
    """Across the gold sets, each expected figure printed in its evidence is one the extractor finds (the
    scorer's rule: the same text, or its number and measure word before the counted noun)."""
    missed, checked = [], 0
    for name in ("questions.jsonl", "dev.jsonl", "reports/questions.jsonl"):
        for gold in read_gold(SHARED / "eval" / name):
            evidence = " ".join(gold.get("evidence") or [])
            if gold["kind"] == "none" or not evidence:
                continue
            texts = [figure.text for figure in extract_figures(evidence)]
            for expected in gold.get("figures") or []:
                if re.sub(r"\s", "", expected) in re.sub(r"\s", "", evidence):
                    checked += 1
                    if not any(figure_matches(expected, text) for text in texts):
                        missed.append(f"{gold['id']}: {expected}")
    assert checked > 200
    assert missed == []

"""Comparison tables and charts, the review store and its gold export, the `fazhi ask --chart/--csv` and
`fazhi review` commands; over real report sentences and the real engine built from the seeds."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pixels import bar_count
from wcwidth import wcswidth

from bot.cli import main
from retrieval.answers.reply.answer import Answer, Citation, Source
from retrieval.answers.reply.chart import ChartError, bar_chart, chart_groups
from retrieval.answers.reply.render import TABLE_COLUMNS, comparison_rows, render, table_csv, table_notes, table_text
from retrieval.engine import Engine
from retrieval.reports.documents import Report
from retrieval.reports.figures import extract_figures
from retrieval.tools.review import ReviewStore, gold_rows, items_csv

ROOT = Path(__file__).resolve().parents[1]
# (town, year, sentence, figure): figures of different kinds (名, 人次, 场) and years, as reports print them.
SENTENCES = [
    ("罗子山瑶族乡", 2025, "全乡共有专兼职人民调解员48名，覆盖全部村组。", "48名"),
    ("青山镇", 2024, "全年开展法律咨询服务约800人次。", "约800人次"),
    ("白水镇", 2024, "全镇调解员共计104名。", "104名"),
    ("青山镇", 2024, "开展普法讲座40余场。", "40余场"),
]


def citation(town: str, year: int, sentence: str, text: str) -> Citation:
    [figure] = [f for f in extract_figures(sentence) if f.text == text]
    report = Report(f"{town}{year}", f"{town}{year}年法治政府建设工作报告", town, year, f"{town}.txt")
    return Citation(Source(report, "一、主要工作", sentence, 1.0), sentence, sentence[: figure.end], figure)


def comparison(rows: list[tuple[str, int, str, str]], missing: tuple[str, ...] = ("五常街道（2024年）",)) -> Answer:
    citations = tuple(citation(*row) for row in rows)
    return Answer("各镇分别是多少？", "compare", True, "各报告中的数字", citations, missing)


# ---- tables ------------------------------------------------------------------------------------------------


def test_table_columns_line_up_by_display_width() -> None:
    answer = comparison([SENTENCES[0], SENTENCES[2]])
    lines = table_text(comparison_rows(answer)).splitlines()
    assert lines[0].split() == ["单位", "年份", "数字", "所计"]
    starts = {wcswidth(line[: line.index(fig)]) for line, fig in zip(lines[1:], ("48名", "104名"), strict=True)}
    assert len(starts) == 1, "the figure column starts at the same display column on every line"
    assert all(wcswidth(line) <= TABLE_COLUMNS for line in lines)


def test_a_long_figure_is_quoted_whole_in_the_table() -> None:
    long = ("白水镇", 2024, "截至2024年12月31日，全镇累计调解矛盾纠纷3.5万余人次。", "3.5万余人次")
    lines = table_text(comparison_rows(comparison([SENTENCES[0], long, ("青山镇", 2024, "2025年1月20日", "2025年1月20日")])))
    assert any("3.5万余人次" in line for line in lines.splitlines())
    assert any("2025年1月20日" in line for line in lines.splitlines())


def test_table_html_escapes_and_lists_units_without_a_figure() -> None:
    answer = comparison([SENTENCES[2], SENTENCES[0]])
    html = render(answer, html=True, table=True)
    block = html.split("<pre>")[1].split("</pre>")[0]
    assert block.index("白水镇") < block.index("罗子山瑶族乡"), "the answer's order (ranked by the core) is kept"
    assert "未给出：五常街道（2024年）" in html.split("</pre>")[1]
    assert "<b>104名</b>" in html and "原文：「全镇调解员共计104名。」" in html
    assert render(answer) == render(answer, table=False) and "<pre>" not in render(answer, table=True)


def test_different_kinds_of_unit_are_grouped_and_marked() -> None:
    answer = comparison(SENTENCES)
    rows = comparison_rows(answer)
    assert [r.group for r in rows] == ["person", "person", "person_times", "times"]
    notes = table_notes(rows)
    assert any("计量单位不同" in note and "人次" in note for note in notes)
    assert any("年份不同" in note for note in notes)
    assert not table_notes(comparison_rows(comparison([SENTENCES[2], ("黑水镇", 2024, "全镇调解员共计104名。", "104名")])))


def test_most_is_ranked_in_the_table(seed_engine: Engine) -> None:
    answer = seed_engine.ask("哪个镇网格员最多？")
    rows = comparison_rows(answer)
    assert len(rows) >= 2 and [r.value for r in rows] == sorted((r.value for r in rows), reverse=True)
    block = render(answer, table=True).splitlines()[2:2 + len(rows)]
    assert [line.split()[0] for line in block] == [r.unit for r in rows]


def test_csv_keeps_figures_verbatim() -> None:
    answer = comparison(SENTENCES)
    parsed = list(csv.DictReader(io.StringIO(table_csv(answer))))
    assert [row["数字"] for row in parsed] == ["48名", "104名", "约800人次", "40余场", "未给出"]
    assert parsed[2]["数值"] == "800" and parsed[2]["计量单位"] == "人次"


# ---- charts ------------------------------------------------------------------------------------------------


def test_chart_has_one_bar_per_figure_and_one_axis_per_kind() -> None:
    answer = comparison(SENTENCES)
    groups = chart_groups(answer)
    assert [group for group, _ in groups] == ["person", "person_times", "times"]
    png = bar_chart(answer)
    assert png.startswith(b"\x89PNG") and bar_count(png) == len(SENTENCES)


def test_chart_refuses_an_answer_without_comparison(seed_engine: Engine) -> None:
    with pytest.raises(ChartError):
        bar_chart(seed_engine.ask("太平镇有多少人民调解员？"))


def test_answering_does_not_import_matplotlib() -> None:
    code = ("import sys; from bot import app, cli, feedback, admin, replies; import retrieval.answers.reply.chart; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


# ---- review store ------------------------------------------------------------------------------------------


def test_review_items_and_gold_rows(tmp_path: Path, seed_engine: Engine) -> None:
    store = ReviewStore(tmp_path / "r.sqlite3")
    answer = seed_engine.ask("太平镇有多少人民调解员？")
    item = store.add(answer, 0, user_id=7, user_name="张三", chat_id=-100)
    assert (item.status, item.figure, item.town, item.user_name) == ("open", "63名", "太平镇", "张三")
    assert json.loads(item.answer_json)["figures"][0]["text"] == "63名"
    assert gold_rows(store.items()) == [], "an open item is no gold question"
    store.correct(item.id, "64名", by=42)
    [gold] = gold_rows(store.items())
    assert (gold["kind"], gold["town"], gold["figures"], gold["question"]) == (
        "figure", "太平镇", ["64名"], "太平镇有多少人民调解员？")
    assert "确认有误" in items_csv(store.items())
    assert ReviewStore(tmp_path / "r.sqlite3").items() == store.items(), "what is stored is read back"


def test_review_export_is_read_by_eval(tmp_path: Path, seed_engine: Engine, model_cache: Path,
                                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    index = seed_engine.config.index_dir
    db = tmp_path / "reviews.sqlite3"
    monkeypatch.setenv("FAZHI_REVIEW_DB", str(db))
    store = ReviewStore(db)
    right = store.add(seed_engine.ask("太平镇有多少人民调解员？"), 0, user_id=1)
    wrong = store.add(seed_engine.ask("中塘镇2021年化解了多少矛盾纠纷？"), 0, user_id=1)
    store.correct(right.id, "63名", by=42)  # the admin finds the answer was right after all
    store.correct(wrong.id, "317件", by=42)  # and this one wrong
    store.add(seed_engine.ask("板溪镇调解了多少起矛盾纠纷？"), 0, user_id=1)  # still open: not exported
    gold = tmp_path / "gold.jsonl"
    assert main(["review", "--export", str(gold)]) == 0
    assert len(gold.read_text(encoding="utf-8").splitlines()) == 2
    assert main(["review", "--csv"]) == 0
    assert capsys.readouterr().out.count("\n") == 4
    env = {"FAZHI_CACHE_DIR": str(model_cache), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot", "eval", str(gold), "--index-dir", str(index), "--json"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    scored = json.loads(done.stdout)
    assert (scored["total"], scored["correct"]) == (2, 1)
    assert scored["failures"] == [f"review{wrong.id:04d}"]


# ---- fazhi ask --chart / --csv -------------------------------------------------------------------------------


def test_ask_chart_and_csv(tmp_path: Path, seed_engine: Engine, model_cache: Path,
                           capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAZHI_CACHE_DIR", str(model_cache))
    index = str(seed_engine.config.index_dir)
    question = "各镇化解矛盾纠纷的数量分别是多少？"
    rows = comparison_rows(seed_engine.ask(question))
    png = tmp_path / "chart.png"
    assert main(["ask", question, "--chart", str(png), "--index-dir", index]) == 0
    out = capsys.readouterr().out
    assert all(str(row.figure) in out.splitlines()[2 + n] for n, row in enumerate(rows)), "the table comes first"
    assert bar_count(png.read_bytes()) == len(rows)
    assert main(["ask", question, "--csv", "-", "--index-dir", index]) == 0
    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["数字"] for r in parsed[: len(rows)]] == [r.figure for r in rows]
    assert main(["ask", question, "--json", "--index-dir", index]) == 0
    assert json.loads(capsys.readouterr().out)["answer"] == seed_engine.ask(question).text, "--json unchanged"

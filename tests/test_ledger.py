"""The figure ledger: rows of real report sentences (clause, counted noun), and its export through `fazhi ledger`."""

import csv
import io
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.answers.decide.ledger import CSV_FIELDS, passage_entries, sentences
from retrieval.reports.documents import Passage
from retrieval.reports.ledger_rows import own_clause
from retrieval.search.tokenize import Tokenizer

# Sentences copied from seeds/ (the last three written for the test); each row: the figure, its clause, the noun right after it ("" when none follows).
ENTRIES = [
    pytest.param("统筹20个人民调解委员会、专兼职人民调解员63名的职能作用，借助大道口等新支点。",
                 [("20个", "统筹20个人民调解委员会", "人民调解委员会"),
                  ("63名", "专兼职人民调解员63名的职能作用", "")], id="committees-and-mediators"),
    pytest.param("我镇共有750人的平安志愿者上岗到位，全镇24个村全部落实了平安志愿者参与重点敏感时期安保活动，出勤率达到95%。",
                 [("750人", "我镇共有750人的平安志愿者上岗到位", ""),
                  ("24个", "全镇24个村全部落实了平安志愿者参与重点敏感时期安保活动", "村"),
                  ("95%", "出勤率达到95%", "")], id="volunteers-villages-rate"),
    pytest.param("中塘镇矛调中心共现场接待来访群众98批次，385人次，其中上级转交信访办理事项2批28人次。",
                 [("98批次", "中塘镇矛调中心共现场接待来访群众98批次", ""),
                  ("385人次", "中塘镇矛调中心共现场接待来访群众98批次，385人次", ""),
                  ("2批", "其中上级转交信访办理事项2批28人次", ""),
                  ("28人次", "其中上级转交信访办理事项2批28人次", "")], id="bare-figure-clause-takes-the-one-before"),
    pytest.param("项目清单145件，已完成142件。",
                 [("145件", "项目清单145件", ""), ("142件", "项目清单145件，已完成142件", "")],
                 id="short-verb-shares-the-subject"),
    pytest.param("“我为群众办实事”项目清单145件，已完成142件，完成率97.9%；“我为群众办实事”群众诉求清单108件。",
                 [("145件", "“我为群众办实事”项目清单145件", ""),
                  ("142件", "“我为群众办实事”项目清单145件，已完成142件", ""),
                  ("97.9%", "“我为群众办实事”项目清单145件，已完成142件，完成率97.9%", ""),
                  ("108件", "“我为群众办实事”群众诉求清单108件", "")], id="a-list-of-figures-shares-the-first-subject"),
    pytest.param("红旗镇3月开展法治宣传，12月宪法宣传周活动如期举办，8个村实现全覆盖。",
                 [("3月", "红旗镇3月开展法治宣传", ""), ("12月", "12月宪法宣传周活动如期举办", ""),
                  ("8个", "8个村实现全覆盖", "村")], id="a-date-counts-no-noun"),
    pytest.param("截至6月30日，全镇法律明白人全部完成培训，取得结业证书。",
                 [("6月30日", "截至6月30日，全镇法律明白人全部完成培训", "")], id="a-bare-date-dates-the-phrase-after"),
    pytest.param("9月5日召开调解工作推进会，部署下阶段任务。",
                 [("9月5日", "9月5日召开调解工作推进会", "")], id="a-date-with-its-words-keeps-its-clause"),
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.mark.parametrize(("text", "rows"), ENTRIES)
def test_passage_entries(tokenizer: Tokenizer, text: str, rows: list[tuple[str, str, str]]) -> None:
    entries = passage_entries(7, Passage("doc", ("一、主要举措和成效",), text), tokenizer.tagged)
    assert [(e.figure.text, e.clause, e.after) for e in entries] == rows
    assert all(e.row == 7 and e.sentence == text for e in entries)
    assert [e.position for e in entries] == list(range(len(rows)))


def test_own_clause_leaves_out_the_borrowed_subject(tokenizer: Tokenizer) -> None:
    text = "我镇受理各类来信177件，除4件正在办理外其余全部受理完毕。"
    total, part = passage_entries(0, Passage("doc", (), text), tokenizer.tagged)
    assert part.clause == "我镇受理各类来信177件，除4件正在办理外其余全部受理完毕"  # the subject it borrows
    own = [own_clause(e.sentence, e.figure.start, e.figure.end) for e in (total, part)]
    assert own == ["我镇受理各类来信177件", "除4件正在办理外其余全部受理完毕"]


def test_entries_follow_sentences(tokenizer: Tokenizer) -> None:
    text = "全镇共有人民调解委员会15个。全年调解矛盾纠纷112件！"
    entries = passage_entries(0, Passage("doc", (), text), tokenizer.tagged)
    assert sentences(text) == ["全镇共有人民调解委员会15个。", "全年调解矛盾纠纷112件！"]
    assert [(e.figure.text, e.sentence, e.position) for e in entries] == [
        ("15个", "全镇共有人民调解委员会15个。", 0), ("112件", "全年调解矛盾纠纷112件！", 0)]


def test_entry_context_names_what_is_counted(tokenizer: Tokenizer) -> None:
    text = "统筹20个人民调解委员会、专兼职人民调解员63名的职能作用。"
    mediators = passage_entries(0, Passage("doc", (), text), tokenizer.tagged)[1]
    assert mediators.counted == "专兼职人民调解员"
    assert mediators.context.startswith("专兼职人民调解员：") and "63名" in mediators.context


def _export(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> list[dict[str, str]]:
    code = main(["ledger", "--csv", str(path), *args])
    out = capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    assert code == 0 and str(path) in out
    assert text.startswith("\ufeff")  # spreadsheet programs read the Chinese
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    assert tuple(reader.fieldnames or ()) == CSV_FIELDS
    return list(reader)


def test_ledger_csv_export(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _export(capsys, tmp_path / "ledger.csv")
    mediators = [r for r in rows if r["数字"] == "63名" and "专兼职人民调解员63名" in r["原句"]]
    assert len(mediators) == 1
    row = mediators[0]
    assert (row["单位"], row["年份"], row["数值"], row["量词"]) == ("太平镇", "2023", "63", "名")
    assert "一、主要举措和成效" in row["章节"] and "（四）进一步提升社会治理法治化水平" in row["章节"]
    assert row["计数对象"] == "专兼职人民调解员" and row["报告"] == "太平镇2023年度法治建设情况报告"
    assert {r["单位"] for r in rows} == {"中塘镇", "双塔镇", "太平镇", "官塘镇", "板溪镇"}
    assert all(r["数字"] in r["原句"] for r in rows)


def test_ledger_town_and_year_filters(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    everything = _export(capsys, tmp_path / "all.csv")
    taiping = _export(capsys, tmp_path / "taiping.csv", "--town", "太平镇")
    assert taiping and {r["单位"] for r in taiping} == {"太平镇"}
    assert taiping == [r for r in everything if r["单位"] == "太平镇"]
    assert _export(capsys, tmp_path / "taiping-2023.csv", "--town", "太平镇", "--year", "2023") == taiping
    assert _export(capsys, tmp_path / "taiping-2020.csv", "--town", "太平镇", "--year", "2020") == []
    assert _export(capsys, tmp_path / "short.csv", "--town", "太平") == taiping  # as officials write it


def test_ledger_of_a_unit_without_a_report(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "--csv", str(tmp_path / "none.csv"), "--town", "红旗镇"]) == 2
    error = capsys.readouterr().err
    assert "红旗镇" in error and "没有这个单位的报告" in error and "太平镇" in error
    assert not (tmp_path / "none.csv").exists()


@pytest.mark.parametrize(("sentence", "figure", "line"), [
    pytest.param("全区14个街道全部实现综合行政执法。", "14个", "全区14个街道", id="the-noun-counted"),
    pytest.param("围绕“宪法日”、“国家安全日”等节点开展宣传30余场。", "30余场", "“国家安全日”等节点开展宣传30余场",
                 id="a-quotation-kept-whole"),
    pytest.param("开展“法律进乡村、进社区”活动12场。", "12场", "“法律进乡村、进社区”活动12场",
                 id="a-clause-opening-inside-a-quotation"),
])
def test_headline(tokenizer: Tokenizer, sentence: str, figure: str, line: str) -> None:
    from retrieval.answers.decide.ledger import headline

    entry = next(e for e in passage_entries(0, Passage("doc", (), sentence), tokenizer.tagged) if e.figure.text == figure)
    assert headline(entry.sentence, entry.figure, entry.after) == line

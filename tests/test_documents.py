"""Reports → passages: metadata from the report's own first lines, section paths, verbatim text."""

import re
from pathlib import Path

import pytest

from retrieval.errors import MissingMetadataError, NoTextError
from retrieval.reports.documents import (
    MAX_PASSAGE_CHARS,
    Passage,
    Report,
    clean_text,
    parse_report,
    read_report,
)
from seeds import seed_paths

SEEDS = {path.name[:3]: path for path in seed_paths()}
BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
SENTENCE = "全镇开展法治宣传进村入户活动，发放宣传资料一千余份，接受群众咨询若干次。"


def _parsed(key: str) -> tuple[Report, list[Passage]]:
    return read_report(SEEDS[key])


def _holding(passages: list[Passage], text: str) -> Passage:
    (passage,) = [p for p in passages if text in p.clean]
    return passage


@pytest.mark.parametrize(("key", "town", "year", "title", "date"), [
    pytest.param("000", "中塘镇", 2021, "中塘镇2021年法治政府建设工作总结", "2021-12-31", id="zhongtang-2021"),
    pytest.param("001", "双塔镇", 2022, "民权县双塔镇人民政府关于2022年度法治政府建设情况的报告", "2023-02-23",
                 id="shuangta-2022"),
    pytest.param("002", "太平镇", 2023, "太平镇2023年度法治建设情况报告", None, id="taiping-2023"),
    pytest.param("003", "官塘镇", 2020, "官塘镇2020年度法治政府建设情况总结", None, id="guantang-2020"),
    pytest.param("004", "板溪镇", 2022, "板溪镇人民政府关于2022年法治政府建设情况的报告", None, id="banxi-2022"),
])
def test_metadata_from_the_first_lines(key: str, town: str, year: int, title: str, date: str | None) -> None:
    report, passages = _parsed(key)
    assert (report.town, report.year, report.title, report.date) == (town, year, title, date)
    assert report.source == SEEDS[key].name
    assert report.passages == len(passages) > 10
    assert {p.doc_id for p in passages} == {report.doc_id}
    first_lines = clean_text("".join(SEEDS[key].read_text(encoding="utf-8").splitlines()[:5]))
    assert title in first_lines


def test_doc_id_depends_on_content_only(tmp_path: Path) -> None:
    copy = tmp_path / "renamed.txt"
    copy.write_bytes(SEEDS["002"].read_bytes())
    assert read_report(copy)[0].doc_id == _parsed("002")[0].doc_id
    copy.write_text(SEEDS["002"].read_text(encoding="utf-8").replace("63名", "64名"), encoding="utf-8")
    assert read_report(copy)[0].doc_id != _parsed("002")[0].doc_id


@pytest.mark.parametrize(("key", "text", "section"), [
    pytest.param("002", "专兼职人民调解员63名",
                 ("一、主要举措和成效", "（四）进一步提升社会治理法治化水平", "二是基层矛盾纠纷依法有效化解"),
                 id="taiping-mediators"),
    pytest.param("002", "安全生产行政处罚6家",
                 ("一、主要举措和成效", "（二）加快建设法治政府", "四是推进严格规范公正文明执法，营造良好法治环境"),
                 id="taiping-fines"),
    pytest.param("000", "104名调解员", ("一、法治学习宣传工作完成情况", "（五）全力推动人民调解工作提质增效"),
                 id="zhongtang-mediators"),
    pytest.param("000", "8月16日，召开园区改革动员大会",
                 ("三、“我为群众办实事”实践活动开展情况", "（二）取得成效", "1.城乡发展注入新动能", "二是推动园区改革创新"),
                 id="zhongtang-date"),
    pytest.param("001", "共化解矛盾纠纷98件",
                 ("一、2022年度推进法治政府建设的主要举措和成效", "（三）完善乡村社会治理，加强法治宣传",
                  "一是强化乡村矛盾排查化解机制"),
                 id="shuangta-disputes"),
    pytest.param("004", "镇村调解各类矛盾纠纷56起",
                 ("一、2022年工作情况", "（二）注重信访化解，确保地方社会稳定", "三是坚持镇村联动调解"),
                 id="banxi-disputes"),
])
def test_section_path(key: str, text: str, section: tuple[str, ...]) -> None:
    passage = _holding(_parsed(key)[1], text)
    assert passage.section == section
    assert passage.section_path == " › ".join(section)


@pytest.mark.parametrize(("text", "section"), [
    pytest.param("为全面推进法治政府建设工作，我镇成立", ("1、主要工作情况", "（1）加强组织领导，全面履行政府职能"),
                 id="arabic-paren-1"),
    pytest.param("为全面推进重点领域整治工作", ("1、主要工作情况", "（2）依法推进重点领域整治，不断营造良好发展环境"),
                 id="arabic-paren-2"),
    pytest.param("深抓干部职工学法用法工作", ("1、主要工作情况", "（三）推进法治宣传教育，营造学法守法大潮流"),
                 id="chinese-paren-3-at-level-of-2"),
    pytest.param("打造官塘镇社会", ("1、主要工作情况", "（五）有效维护基层社会和谐稳定，提升群众平安幸福感"),
                 id="chinese-paren-5"),
    pytest.param("我镇在法治政府建设工作中取得了一些成果", ("二、存在的问题和不足",), id="cn-dun-2-at-level-of-1"),
    pytest.param("深化法治政府建设各项制度建设", ("三、下一步工作打算", "一是深化法治政府建设各项制度建设"),
                 id="cn-dun-3"),
])
def test_guantang_mixed_outline(text: str, section: tuple[str, ...]) -> None:
    """官塘 numbers its outline 1、 → （1）（2） → （三）（四）（五） → 二、 三、: a marker of the same family
    continuing the count stays at the level of the one before."""
    assert _holding(_parsed("003")[1], text).section == section


@pytest.mark.parametrize("key", sorted(SEEDS))
def test_passages_are_verbatim_without_export_noise(key: str) -> None:
    original = SEEDS[key].read_text(encoding="utf-8")
    without_marker = BOOKMARK.sub("", original)
    _, passages = _parsed(key)
    for passage in passages:
        assert "bookmark" not in passage.text and "_GoBack" not in passage.text
        assert passage.text in without_marker, passage.text[:40]
        assert passage.text == passage.text.strip()


def test_banxi_text_behind_the_bookmark_is_kept() -> None:
    assert "[bookmark: _GoBack]2022年，板溪镇牢牢坚持" in SEEDS["004"].read_text(encoding="utf-8")
    first = _parsed("004")[1][0]
    assert first.text.startswith("2022年，板溪镇牢牢坚持以习近平新时代中国特色社会主义思想为指导")
    assert first.section == ()


@pytest.mark.parametrize("key", sorted(SEEDS))
def test_list_items_stay_in_the_passages(key: str) -> None:
    """A sentence that opens with 一是/二是… is content, not a bare heading: its text is in some passage
    (板溪's "二是少数群众无理缠访仍然存在，…。三是部分园区建设遗留问题…。" must not vanish)."""
    _, passages = _parsed(key)
    indexed = "".join(p.clean for p in passages)
    body = clean_text(SEEDS[key].read_text(encoding="utf-8"))
    items = re.findall(r"(?<=[。；;：:])([一二三四五六七八九十]+是[^。；;]{6,}[。；;])", body)
    items += [clean_text(line) for line in SEEDS[key].read_text(encoding="utf-8").splitlines()
              if re.match(r"^[一二三四五六七八九十]+是", clean_text(line))]
    assert items
    lost = [item for item in items if item not in indexed]
    assert lost == []


@pytest.mark.parametrize("key", sorted(SEEDS))
def test_no_passage_longer_than_the_limit(key: str) -> None:
    for passage in _parsed(key)[1]:
        assert len(passage.text) <= MAX_PASSAGE_CHARS


def test_long_paragraph_is_split_at_sentence_ends() -> None:
    paragraph = SENTENCE * 12
    _, passages = parse_report(["红旗镇2024年法治政府建设情况报告", "一、工作情况", paragraph], source="x.txt")
    assert len(passages) == 2
    assert "".join(p.text for p in passages) == paragraph
    for passage in passages:
        assert len(passage.text) <= MAX_PASSAGE_CHARS
        assert passage.text.endswith("。")
        assert passage.section == ("一、工作情况",)


def test_single_long_sentence_is_not_cut() -> None:
    sentence = "全镇" + "开展法治宣传进村入户活动，" * 30 + "效果明显。"
    assert len(sentence) > MAX_PASSAGE_CHARS
    _, passages = parse_report(["红旗镇2024年法治政府建设情况报告", sentence], source="x.txt")
    assert [p.text for p in passages] == [sentence]


@pytest.mark.parametrize(("blocks", "hint", "town", "year"), [
    pytest.param(["工作总结", SENTENCE], "红旗镇 2024", "红旗镇", 2024, id="town-and-year-from-hint"),
    pytest.param(["红旗镇工作总结", SENTENCE], "report_2024", "红旗镇", 2024, id="year-from-bare-number-in-hint"),
    pytest.param(["2024年工作总结", SENTENCE], "白云乡", "白云乡", 2024, id="town-from-hint-xiang"),
    pytest.param(["2024年工作总结", SENTENCE], "白云乡 2019", "白云乡", 2024, id="content-year-beats-hint"),
    pytest.param(["红旗镇2024年工作总结", SENTENCE], "白云乡 2019", "红旗镇", 2024, id="content-beats-hint"),
])
def test_metadata_fallback_from_hint(blocks: list[str], hint: str, town: str, year: int) -> None:
    report, passages = parse_report(blocks, source="x.txt", hint=hint)
    assert (report.town, report.year) == (town, year)
    assert [p.text for p in passages] == [SENTENCE]


def test_file_name_is_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "红旗镇_2024.txt"
    path.write_text(f"工作总结\n\n{SENTENCE}\n", encoding="utf-8")
    report, _ = read_report(path)
    assert (report.town, report.year, report.source) == ("红旗镇", 2024, "红旗镇_2024.txt")


def test_seed_content_beats_a_misleading_hint() -> None:
    report, _ = read_report(SEEDS["002"], hint="红旗镇 2019")
    assert (report.town, report.year) == ("太平镇", 2023)


def test_outline_heading_is_not_taken_for_the_title() -> None:
    """A report without a title line opens with its first section: that heading stays a section."""
    report, passages = parse_report(["一、工作情况", SENTENCE], source="x.txt", hint="红旗镇 2024")
    assert report.title == "红旗镇2024年报告"
    assert [p.section for p in passages] == [("一、工作情况",)]


@pytest.mark.parametrize(("blocks", "hint", "missing"), [
    pytest.param(["工作总结", SENTENCE], "", ["town", "year"], id="neither"),
    pytest.param(["红旗镇工作总结", SENTENCE], "", ["year"], id="no-year"),
    pytest.param(["2024年工作总结", SENTENCE], "", ["town"], id="no-town"),
    pytest.param(["工作总结", SENTENCE], "scan_final", ["town", "year"], id="useless-hint"),
])
def test_missing_metadata(blocks: list[str], hint: str, missing: list[str]) -> None:
    with pytest.raises(MissingMetadataError) as caught:
        parse_report(blocks, source="x.txt", hint=hint)
    assert caught.value.missing == missing


@pytest.mark.parametrize("blocks", [
    pytest.param([], id="no-blocks"),
    pytest.param(["", "   ", "\u3000\u3000", "[bookmark: _GoBack]"], id="blank-and-noise"),
])
def test_no_text(blocks: list[str]) -> None:
    with pytest.raises(NoTextError):
        parse_report(blocks, source="x.txt", hint="红旗镇 2024")


@pytest.mark.parametrize("content", [pytest.param(b"", id="empty"), pytest.param(b" \n\r\n\t\n", id="blank")])
def test_no_text_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "红旗镇2024.txt"
    path.write_bytes(content)
    with pytest.raises(NoTextError):
        read_report(path)

"""Reports of any government unit: 镇, 乡, 民族乡, 街道, 区, 县, 市, 局, 委, 办, 管理局, from the title, the
signature block or the body; the uploader's unit and year override; a batch never holds one unit-year twice.

The synthetic reports are made up here; the real ones are the seeds and ../shared/eval/reports/docs.
"""

from pathlib import Path

import numpy as np
import pytest

from bot.replies import plain, report_error
from retrieval.errors import DuplicateReportError, MissingMetadataError, ReportError
from retrieval.reports.documents import parse_report, read_override, read_report, towns_in
from retrieval.reports.indexing import add_reports, parse_file
from retrieval.reports.units import (
    body_units,
    short_names,
    unit_kind,
    unit_of_body,
    unit_of_issuer,
    unit_of_signature,
    unit_of_title,
)
from retrieval.search.tokenize import Tokenizer
from seeds import seed_paths
from tests.conftest import SHARED

BODY = ["一、主要举措和成效", "全年开展法治宣传活动12场，发放宣传资料3000余份，接受群众咨询200余人次。"]
REAL = {
    "000_": ("中塘镇", 2021), "001_": ("双塔镇", 2022), "002_": ("太平镇", 2023), "003_": ("官塘镇", 2020),
    "004_": ("板溪镇", 2022), "guanba": ("关坝镇", 2025), "hangzhoudao": ("杭州道街道", 2023),
    "luozishan": ("罗子山瑶族乡", 2025), "manwan": ("漫湾镇", 2025), "taojia": ("陶家镇", 2025),
    "wuchang": ("五常街道", 2024), "yanshan": ("岩山镇", 2024), "zengfu": ("增福镇", 2022),
}
REPORT_DOCS = SHARED / "eval" / "reports" / "docs"


def _real_paths() -> list[Path]:
    return list(seed_paths()) + (sorted(REPORT_DOCS.iterdir()) if REPORT_DOCS.is_dir() else [])


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem[:12]) for p in _real_paths()])
def test_real_reports_keep_their_unit_and_year(path: Path) -> None:
    report, _ = read_report(path)
    key = next(k for k in REAL if path.name.startswith(k))
    assert (report.town, report.year) == REAL[key]


@pytest.mark.parametrize(("title", "unit"), [
    pytest.param("城南区2024年法治政府建设工作报告", "城南区", id="district"),
    pytest.param("2024年度城南区法治政府建设情况报告", "城南区", id="district-after-year"),
    pytest.param("商丘市民权县人民政府关于2022年度法治政府建设情况的报告", "民权县", id="county-without-city"),
    pytest.param("河南省商丘市人民政府2023年法治政府建设年度报告", "商丘市", id="city-without-province"),
    pytest.param("民权县司法局关于2023年度法治政府建设工作情况的报告", "民权县司法局", id="bureau-keeps-county"),
    pytest.param("天津市滨海新区城市管理综合执法局2023年法治政府建设报告", "滨海新区城市管理综合执法局",
                 id="bureau-with-shi-inside"),
    pytest.param("城南区市场监督管理局2023年度法治政府建设情况报告", "城南区市场监督管理局", id="market-bureau"),
    pytest.param("商丘市住房和城乡建设局2023年法治政府建设报告", "商丘市住房和城乡建设局", id="bureau-with-xiang"),
    pytest.param("城南区发展和改革委员会2023年法治政府建设报告", "城南区发展和改革委员会", id="commission"),
    pytest.param("民权县卫健委2023年法治政府建设报告", "民权县卫健委", id="wei"),
    pytest.param("城南区政府办2023年法治政府建设报告", "城南区政府办", id="ban"),
    pytest.param("滨海新区北塘片区管理局2023年法治政府建设情况", "滨海新区北塘片区管理局", id="area-bureau"),
    pytest.param("天津港保税区管理委员会2023年法治政府建设年度报告", "天津港保税区", id="zone-committee"),
    pytest.param("天津市滨海新区杭州道街道办事处2023年法治政府建设工作报告", "杭州道街道", id="jiedao-not-daojiedao"),
    pytest.param("罗子山瑶族乡2025年度法治政府建设年度报告", "罗子山瑶族乡", id="ethnic-township"),
    pytest.param("王集镇2021年法治政府建设工作总结", "王集镇", id="x-ji-zhen"),
    pytest.param("民权县李集乡人民政府关于2021年法治政府建设情况的报告", "李集乡", id="x-ji-xiang"),
    pytest.param("新市镇2021年法治政府建设工作总结", "新市镇", id="shi-in-town-name"),
    pytest.param("湘西土家族苗族自治州2023年法治政府建设报告", "湘西土家族苗族自治州", id="autonomous-prefecture"),
    pytest.param("中共城南区市场监督管理局党组关于2023年度法治政府建设情况的报告", "城南区市场监督管理局",
                 id="party-group-of-a-bureau"),
    pytest.param("中共红旗镇党委 红旗镇人民政府关于2023年度法治政府建设情况的报告", "红旗镇", id="party-committee-and-town"),
    pytest.param("关于2022年法治政府建设情况的报告", None, id="no-issuer"),
    pytest.param("2024年工作总结", None, id="no-unit"),
])
def test_unit_of_title(title: str, unit: str | None) -> None:
    assert unit_of_title(title) == unit


@pytest.mark.parametrize(("text", "kind"), [
    ("双塔镇", "town"), ("罗子山瑶族乡", "town"), ("五常街道", "town"), ("城南区", "region"), ("民权县", "region"),
    ("商丘市", "region"), ("民权县司法局", "department"), ("城南区政府办", "department"), ("报告", None),
])
def test_unit_kind(text: str, kind: str | None) -> None:
    assert unit_kind(text) == kind


@pytest.mark.parametrize("text", ["全镇", "我区", "乡镇", "集镇", "街道", "县委", "各街道", "永福社区", "调整充实社区",
                                  "产业园区", "全国示范镇", "立足瑶乡"])
def test_self_references_and_generic_words_are_no_unit(text: str) -> None:
    assert unit_of_issuer(text) is None


def test_a_preposition_opens_a_clause_but_may_start_a_name() -> None:
    assert unit_of_issuer("在区委", in_body=True) is None
    assert unit_of_issuer("向集镇") == "向集镇"


def test_signature_block() -> None:
    assert unit_of_signature(["正文。", "          双塔镇人民政府", "2023年2月23日"]) == "双塔镇"
    assert unit_of_signature(["正文。", "中共红旗镇委员会    红旗镇人民政府", "二〇二四年三月二日"]) == "红旗镇"
    assert unit_of_signature(["正文。", "城南区司法局（盖章）", "2024年3月26日"]) == "城南区司法局"
    assert unit_of_signature(["下一步，全镇将继续推进法治建设。", "无。"]) is None


def test_body_clauses_name_the_unit_not_the_bodies_above_it() -> None:
    opening = "2022年，在区委、区政府的坚强领导下，增福镇以习近平新时代中国特色社会主义思想为指引"
    assert body_units(opening) == ["增福镇"]
    assert body_units("这一年，漫湾镇在县委、县政府的坚强领导下，镇村干部齐心协力") == ["漫湾镇"]


@pytest.mark.parametrize(("blocks", "unit"), [
    pytest.param(["城南区2024年法治政府建设工作报告", *BODY, "城南区人民政府", "2025年1月20日"], "城南区",
                 id="district-report"),
    pytest.param(["民权县司法局2024年度法治政府建设工作报告", *BODY, "民权县司法局", "2025年1月20日"], "民权县司法局",
                 id="bureau-report"),
    pytest.param(["2024年法治政府建设工作报告", *BODY, "青石乡人民政府", "2025年1月20日"], "青石乡",
                 id="unit-only-in-signature"),
    pytest.param(["杭州道街道2024年法治政府建设工作总结", *BODY, "杭州道街道办事处", "2025年3月26日"], "杭州道街道",
                 id="jiedao-report"),
    pytest.param(["王集镇人民政府关于2024年法治政府建设情况的报告", *BODY, "王集镇人民政府"], "王集镇",
                 id="x-ji-zhen-report"),
    pytest.param(["2024年法治政府建设工作报告", "2024年，城东街道坚持依法行政。", *BODY], "城东街道",
                 id="unit-only-in-the-body"),
    pytest.param(["2024年法治政府建设工作报告", "2024年，在区委、区政府的领导下，红石镇坚持依法行政。", *BODY], "红石镇",
                 id="body-opening-after-the-bodies-above"),
])
def test_synthetic_reports(blocks: list[str], unit: str) -> None:
    report, passages = parse_report(blocks, source="x.txt")
    assert (report.town, report.year) == (unit, 2024)
    assert BODY[1] in [p.text for p in passages]


def test_refusal_names_the_file() -> None:
    with pytest.raises(MissingMetadataError) as caught:
        parse_report(["工作总结", *BODY], source="区里的报告.docx")
    assert (caught.value.source, caught.value.missing) == ("区里的报告.docx", ["town", "year"])
    message = plain(report_error(caught.value))
    assert message.startswith("无法从《区里的报告.docx》确定单位和年份")


@pytest.mark.parametrize(("caption", "unit", "year"), [
    ("城南区 2024", "城南区", 2024), ("城南区2024年报告", "城南区", 2024), ("民权县司法局", "民权县司法局", None),
    ("2023", None, 2023), ("请收录", None, None),
])
def test_read_override(caption: str, unit: str | None, year: int | None) -> None:
    assert read_override(caption) == (unit, year)


def test_override_beats_the_content() -> None:
    blocks = ["红旗镇2023年法治政府建设工作报告", *BODY]
    report, _ = parse_report(blocks, source="x.txt", unit="城南区", year=2024)
    assert (report.town, report.year) == ("城南区", 2024)
    report, _ = parse_report(blocks, source="x.txt", year=2024)
    assert (report.town, report.year) == ("红旗镇", 2024)
    report, _ = parse_report(["工作总结", *BODY], source="x.txt", unit="城南区片区", year=2024)
    assert (report.town, report.year) == ("城南区片区", 2024)


def test_caption_overrides_the_content_of_an_upload(tmp_path: Path) -> None:
    """The upload path (Engine.add_report) reads the caption with read_override, then parse_file."""
    path = tmp_path / "upload.txt"
    path.write_text("\n".join(["红旗镇2023年法治政府建设工作报告", *BODY]), encoding="utf-8")
    unit, year = read_override("城南区 2024")
    report = parse_file(path, hint="城南区 2024", unit=unit, year=year).report
    assert (report.town, report.year) == ("城南区", 2024)


class _NoEncoder:
    name, dim = "none", 8

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        raise AssertionError("a refused batch must not be embedded")


def test_batch_with_two_reports_of_one_unit_and_year_is_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "城南区报告.txt", tmp_path / "新报告.docx.txt"
    first.write_text("\n".join(["城南区2024年法治政府建设工作报告", *BODY]), encoding="utf-8")
    second.write_text("\n".join(["2024年法治政府建设工作报告", BODY[1] + "另有说明。", "城南区人民政府"]),
                      encoding="utf-8")
    parsed = [parse_file(first), parse_file(second)]
    with pytest.raises(DuplicateReportError) as caught:
        add_reports(None, parsed, encoder=_NoEncoder(), tokenizer=Tokenizer())  # type: ignore[arg-type]
    assert (caught.value.sources, caught.value.unit, caught.value.year) == ((first.name, second.name), "城南区", 2024)
    message = plain(report_error(caught.value))
    assert first.name in message and second.name in message and "城南区2024年" in message


@pytest.mark.parametrize(("text", "towns"), [
    ("杭州道街道有多少人", ["杭州道街道"]), ("王集镇调解了几起纠纷", ["王集镇"]), ("开展集镇环境整治", []),
    ("民权县双塔镇和白云乡", ["双塔镇", "白云乡"]), ("示范镇建设投入了多少", []), ("哪些建制镇有法律顾问", []),
    ("红旗镇是全国重点镇", ["红旗镇"]), ("富强镇有多少调解员", ["富强镇"]),
    ("城南区向街道下放了几项权力", []), ("执法力量下沉到街道", []), ("区直部门和街道负责人述法", []),
    ("全区各单位与街道签订责任书", []), ("城南区街道（镇）执法队伍", []), ("太和镇和永和乡", ["太和镇", "永和乡"]),
    ("向阳街道调解员多少名", ["向阳街道"]),
])
def test_towns_in_questions(text: str, towns: list[str]) -> None:
    assert towns_in(text) == towns


class _RandomEncoder:
    """Fixed random vectors: enough to build an index without a model."""

    name, dim = "random", 16

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_passages(texts)

    def encode_passages(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        vectors = np.random.default_rng(len(texts)).random((len(texts), self.dim), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_upload_caption_and_batch_through_the_engine(tmp_path: Path) -> None:
    from retrieval.engine import Engine, EngineConfig

    config = EngineConfig(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    engine = Engine.open(config, encoder=_RandomEncoder())  # type: ignore[arg-type]
    path = tmp_path / "upload.txt"
    path.write_text("\n".join(["红旗镇2023年法治政府建设工作报告", *BODY]), encoding="utf-8")
    result = engine.add_report(path, caption="城南区 2024")
    assert (result.report.town, result.report.year) == ("城南区", 2024)
    before = sorted((r.town, r.year) for r in engine.reports())
    other = tmp_path / "again.txt"
    other.write_text("\n".join(["城南区2024年法治政府建设工作总结", BODY[1] + "再次说明。"]), encoding="utf-8")
    with pytest.raises(DuplicateReportError):
        engine.add_reports([parse_file(path, unit="城南区", year=2024), parse_file(other)])
    assert sorted((r.town, r.year) for r in engine.reports()) == before


def test_cli_takes_unit_and_year() -> None:
    from bot.cli import parser

    args = parser().parse_args(["index", "--add", "a.docx", "--unit", "城南区", "--year", "2024"])
    assert (args.add, args.unit, args.year) == (["a.docx"], "城南区", 2024)


@pytest.mark.parametrize(("unit", "names"), [
    ("双塔镇", ("双塔镇", "双塔")), ("杭州道街道", ("杭州道街道", "杭州道")), ("城南区", ("城南区", "城南")),
    ("罗子山瑶族乡", ("罗子山瑶族乡", "罗子山瑶族", "罗子山")), ("民权县司法局", ("民权县司法局", "司法局")),
    ("滨海新区城市管理综合执法局", ("滨海新区城市管理综合执法局", "城市管理综合执法局")), ("沛县", ("沛县",)),
    ("北塘片区管理局", ("北塘片区管理局",)),
])
def test_short_names(unit: str, names: tuple[str, ...]) -> None:
    assert short_names(unit) == names


@pytest.mark.parametrize(("name", "content"), [
    pytest.param("旧报告.doc", b"\xd0\xcf\x11\xe0 old word", id="unsupported"),
    pytest.param("空白.txt", b" \n\n ", id="no-text"),
])
def test_every_refusal_names_the_file(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReportError) as caught:
        read_report(path)
    assert plain(report_error(caught.value)).startswith(f"《{name}》")


def test_body_unit_is_the_one_named_most_often() -> None:
    body = "开展集镇环境整治。2024年，城东街道坚持依法行政。推进城东街道法治建设。城东街道全年调解纠纷12起。"
    assert unit_of_body(body) == "城东街道"


def test_cli_refuses_unit_without_add(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["index", "--unit", "城南区"]) == 2
    assert "--add" in capsys.readouterr().err

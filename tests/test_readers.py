"""Report files → paragraphs: every fixture file is written into tmp_path by the test itself."""

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from retrieval.errors import NoTextError, UnsupportedFormatError
from retrieval.reports.documents import read_report
from retrieval.reports.readers import READABLE, read_blocks, table_blocks

TITLE = "青山镇2024年法治政府建设工作报告"
OPENING = (
    "2024年，青山镇在县委、县政府的坚强领导下，深入学习贯彻习近平法治思想，"
    "扎实推进法治政府建设，各项工作取得明显成效，现将有关情况报告如下。"
)
SECTION = "一、主要工作和成效"
SUBSECTION = "（一）深化矛盾纠纷多元化解。全镇共调解矛盾纠纷63起，调解成功率达98.4%，化解信访积案5件。"
AFTER_TABLE = (
    "（二）推进严格规范公正文明执法。全年开展行政执法检查32次，办理行政处罚案件11件，无行政复议纠错案件。"
)
PROBLEMS = "二、存在的问题"
TABLE = [["项目", "2022年", "2023年"], ["调解纠纷", "56起", "63起"], ["普法活动", "12场", "15场"]]
TABLE_BLOCK = "调解纠纷：2022年56起；2023年63起。"


# ---------------------------------------------------------------- fixture builders


def write_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading(TITLE, level=0)
    document.add_paragraph("")
    for text in (OPENING, SECTION, SUBSECTION):
        document.add_paragraph(text)
    table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    for r, row in enumerate(TABLE):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    document.add_paragraph("   ")
    document.add_paragraph(AFTER_TABLE)
    document.add_paragraph(PROBLEMS)
    document.save(path)
    return path


def wrap(text: str, width: int = 30) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def write_pdf(path: Path, pages: list[list[str]], *, header: str = "", encrypt: str | None = None) -> Path:
    """Each page's lines drawn one under another in a CJK CID font (ships inside reportlab)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path), encrypt=encrypt)
    for number, lines in enumerate(pages, start=1):
        pdf.setFont("STSong-Light", 12)
        if header:
            pdf.drawString(72, 800, header)
        for i, line in enumerate(lines):
            pdf.drawString(72, 760 - 18 * i, line)
        pdf.drawString(290, 40, f"- {number} -")
        pdf.showPage()
    pdf.save()
    return path


def report_pdf(path: Path) -> Path:
    """The report over two pages, the opening paragraph running across the page break."""
    opening = wrap(OPENING)
    page1 = [TITLE, *opening[:2]]
    page2 = [*opening[2:], SECTION, *wrap(SUBSECTION), *wrap(AFTER_TABLE), PROBLEMS]
    return write_pdf(path, [page1, page2], header="青山镇人民政府")


# ---------------------------------------------------------------- .txt and .md


def test_txt_gb18030_with_crlf(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(f"{TITLE}\r\n\r\n{OPENING}\r\n{SECTION}\r\n".encode("gb18030"))
    assert read_blocks(path) == [TITLE, OPENING, SECTION]


def test_txt_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(f"\ufeff{TITLE}\r\n{OPENING}\r\n".encode())
    assert read_blocks(path) == [TITLE, OPENING]


def test_markdown_syntax_removed_outline_markers_kept(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    path.write_text(
        f"# {TITLE}\n\n{OPENING}\n\n## {SECTION}\n\n**（一）深化矛盾纠纷多元化解。**全镇共调解矛盾纠纷63起。\n\n"
        "- 一是开展“法律明白人”培训8期。\n- 1. 建成村级法律服务点12个。\n\n---\n\n"
        "| 项目 | 2022年 | 2023年 |\n|---|---:|---:|\n| 调解纠纷 | 56起 | 63起 |\n\n"
        "详见[附件](http://example.invalid/a.pdf)。\n",
        encoding="utf-8",
    )
    assert read_blocks(path) == [
        TITLE,
        OPENING,
        SECTION,
        "（一）深化矛盾纠纷多元化解。全镇共调解矛盾纠纷63起。",
        "一是开展“法律明白人”培训8期。",
        "1. 建成村级法律服务点12个。",
        TABLE_BLOCK,
        "详见附件。",
    ]


# ---------------------------------------------------------------- tables


@pytest.mark.parametrize(
    ("rows", "blocks"),
    [
        pytest.param(TABLE[:2], [TABLE_BLOCK], id="row-and-column-headers"),
        pytest.param(
            [["项目", "2022年", "2023年"], ["普法活动", "", "15场"]],
            ["普法活动：2023年15场。"],
            id="empty-cell",
        ),
        pytest.param(
            [["项目", "2022年", "2023年"], ["备注", "两年合计119起", None]],
            ["备注：两年合计119起。"],
            id="cell-merged-across-years-has-no-year",
        ),
        pytest.param(
            [["项目", "2023年", None], ["项目", "件数", "金额（万元）"], ["调解纠纷", "63起", "12.5"]],
            ["调解纠纷：2023年件数63起；2023年金额（万元）12.5。"],
            id="two-header-rows-merged",
        ),
        pytest.param(
            [["项目", "2022年", "2023年"], ["一、矛盾纠纷", None, None], ["调解纠纷", "56起", "63起"]],
            ["一、矛盾纠纷", TABLE_BLOCK],
            id="section-row-across-table",
        ),
        pytest.param(
            [["序号", "村名", "调解纠纷"], ["1", "甲村", "5起"], ["", "", ""]],
            ["甲村：调解纠纷5起。"],
            id="serial-column-and-empty-row-dropped",
        ),
        pytest.param(
            [[TITLE], [f"{SECTION}\n{SUBSECTION}"]], [TITLE, SECTION, SUBSECTION], id="layout-column"
        ),
        pytest.param(
            [["青山镇人民政府", "2024年12月20日"]], ["青山镇人民政府", "2024年12月20日"], id="single-row"
        ),
        pytest.param(
            [["调解纠纷", "63起"], ["普法活动", "15场"]],
            ["调解纠纷：63起。", "普法活动：15场。"],
            id="no-header-row-key-value",
        ),
        pytest.param(
            [["项目", "2023年度", "同比"], ["调解纠纷", "63起", "增长12.5%"]],
            ["调解纠纷：2023年度63起；同比增长12.5%。"],
            id="year-header-is-a-header",
        ),
        pytest.param([], [], id="empty"),
    ],
)
def test_table_blocks(rows: list[list[str | None]], blocks: list[str]) -> None:
    assert table_blocks(rows) == blocks


# ---------------------------------------------------------------- .docx


def test_docx_paragraphs_and_table_in_document_order(tmp_path: Path) -> None:
    blocks = read_blocks(write_docx(tmp_path / "report.docx"))
    assert blocks == [
        TITLE,
        OPENING,
        SECTION,
        SUBSECTION,
        TABLE_BLOCK,
        "普法活动：2022年12场；2023年15场。",
        AFTER_TABLE,
        PROBLEMS,
    ]
    figure = blocks[blocks.index(SUBSECTION) + 1]
    assert "调解纠纷" in figure and "2023年" in figure


def test_docx_merged_cells(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph(TITLE)
    table = document.add_table(rows=4, cols=3)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "项目"
    table.cell(0, 1).merge(table.cell(0, 2)).text = "2023年"
    for c, text in enumerate(["件数", "金额（万元）"], start=1):
        table.cell(1, c).text = text
    for c, text in enumerate(["调解纠纷", "63起", "12.5"]):
        table.cell(2, c).text = text
    table.cell(3, 0).text = "备注"
    table.cell(3, 1).merge(table.cell(3, 2)).text = "含线上调解\n12起"
    path = tmp_path / "merged.docx"
    document.save(path)
    assert read_blocks(path) == [
        TITLE,
        "调解纠纷：2023年件数63起；2023年金额（万元）12.5。",
        "备注：2023年含线上调解 12起。",
    ]


def test_docx_layout_table_keeps_paragraphs(tmp_path: Path) -> None:
    document = docx.Document()
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell.text = TITLE
    cell.add_paragraph(SECTION)
    path = tmp_path / "boxed.docx"
    document.save(path)
    assert read_blocks(path) == [TITLE, SECTION]


# ---------------------------------------------------------------- .pdf


def test_pdf_chinese_text_layer_extracted(tmp_path: Path) -> None:
    blocks = read_blocks(write_pdf(tmp_path / "one.pdf", [[TITLE, SECTION]]))
    assert blocks == [TITLE, SECTION]


def test_pdf_wrapped_lines_rejoined_and_furniture_dropped(tmp_path: Path) -> None:
    blocks = read_blocks(report_pdf(tmp_path / "report.pdf"))
    assert blocks == ["青山镇人民政府", TITLE, OPENING, SECTION, SUBSECTION, AFTER_TABLE, PROBLEMS]
    assert len(wrap(OPENING)) > 2 and len(wrap(SUBSECTION)) > 1  # the fixture really wraps


def test_pdf_line_ending_a_sentence_ends_the_paragraph(tmp_path: Path) -> None:
    first, second = (
        "本行恰好写满三十个字并以句号结尾，说明这一段到这里就结束了。",
        "下一行开始新的一段文字并且较短。",
    )
    assert len(first) == 30
    assert read_blocks(write_pdf(tmp_path / "p.pdf", [[first, second]])) == [first, second]


# ---------------------------------------------------------------- documents.read_report


@pytest.mark.parametrize(
    ("build", "name"), [(write_docx, "r.docx"), (report_pdf, "r.pdf")], ids=["docx", "pdf"]
)
def test_read_report_town_year_title_sections(
    tmp_path: Path, build: Callable[[Path], Path], name: str
) -> None:
    path = build(tmp_path / name)
    report, passages = read_report(path)
    assert (report.town, report.year, report.title) == ("青山镇", 2024, TITLE)
    mediation = next(p for p in passages if "调解成功率" in p.text)
    assert mediation.section[0] == SECTION
    assert mediation.section[-1].startswith("（一）深化矛盾纠纷多元化解")
    enforcement = next(p for p in passages if "行政执法检查32次" in p.text)
    assert enforcement.section[-1].startswith("（二）")
    if name.endswith(".docx"):
        table_passage = next(p for p in passages if "63起" in p.text and "2023年" in p.text)
        assert "调解纠纷" in table_passage.text and table_passage.section[0] == SECTION


# ---------------------------------------------------------------- bad files


def random_bytes(n: int = 4096) -> bytes:
    return os.urandom(n)


def zip_without_document() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def truncated_docx(tmp_path: Path) -> bytes:
    return write_docx(tmp_path / "whole.docx").read_bytes()[:2000]


@pytest.mark.parametrize(
    ("name", "content", "suffix"),
    [
        pytest.param("report.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), ".doc", id="old-word"),
        pytest.param("REPORT.DOC", b"anything", ".doc", id="old-word-upper-case"),
        pytest.param("scan.jpg", b"\xff\xd8\xff\xe0" + bytes(64), ".jpg", id="jpeg"),
        pytest.param("scan.png", b"\x89PNG\r\n\x1a\n" + bytes(64), ".png", id="png"),
        pytest.param("figures.xlsx", zip_without_document(), ".xlsx", id="xlsx"),
        pytest.param("report.wps", b"text", ".wps", id="unknown-ending"),
        pytest.param("README", b"text", "none", id="no-ending"),
        pytest.param("junk.txt", bytes(range(256)) * 8, "binary", id="binary-txt"),
        pytest.param("renamed.txt", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "binary", id="pdf-named-txt"),
        pytest.param("junk.md", b"\x89PNG\r\n\x1a\n\x00\x00", "binary", id="binary-md"),
        pytest.param("junk.docx", random_bytes(), "corrupt", id="random-docx"),
        pytest.param(
            "old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), ".doc", id="doc-named-docx"
        ),
        pytest.param("sheet.docx", zip_without_document(), "corrupt", id="zip-not-word"),
        pytest.param("junk.pdf", random_bytes(), "corrupt", id="random-pdf"),
        pytest.param("bad.pdf", b"%PDF-1.7\n" + random_bytes(), "corrupt", id="pdf-header-then-junk"),
    ],
)
def test_unsupported(tmp_path: Path, name: str, content: bytes, suffix: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnsupportedFormatError) as caught:
        read_blocks(path)
    assert caught.value.suffix == suffix


def test_truncated_docx_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "cut.docx"
    path.write_bytes(truncated_docx(tmp_path))
    with pytest.raises(UnsupportedFormatError, match="corrupt"):
        read_blocks(path)


def test_password_pdf(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "locked.pdf", [[TITLE]], encrypt="secret")
    with pytest.raises(UnsupportedFormatError, match="encrypted"):
        read_blocks(path)


@pytest.mark.parametrize("suffix", READABLE)
@pytest.mark.parametrize("content", [b"", b"  \r\n\t\n"], ids=["empty", "white-space"])
def test_empty_file_has_no_text(tmp_path: Path, suffix: str, content: bytes) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(content)
    with pytest.raises(NoTextError):
        read_blocks(path)


def test_full_width_spaces_only_txt_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("\u3000\u3000\n\n\u3000", encoding="utf-8")
    with pytest.raises(NoTextError):
        read_blocks(path)


def test_docx_without_text(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("")
    document.add_table(rows=2, cols=2)
    path = tmp_path / "blank.docx"
    document.save(path)
    with pytest.raises(NoTextError):
        read_blocks(path)


def test_scanned_pdf_has_no_text(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(72, 400, 400, 300, fill=1)  # a page that is all picture
    pdf.showPage()
    pdf.save()
    with pytest.raises(NoTextError):
        read_blocks(path)


def test_plain_text_table_cut_by_bars_keeps_each_row(tmp_path: Path) -> None:
    """A table exported to text as "类型｜数量" lines reads as a docx table does: one block per row, each
    figure after its headers (the short rows are no longer dropped as headings)."""
    path = tmp_path / "白水镇2024年法治政府建设工作报告.txt"
    path.write_text("白水镇2024年法治政府建设工作报告\n街道涉及的诉讼案件共72起，构成如下：\n案件类型｜数量\n"
                    "民事诉讼案件｜50起\n行政诉讼案件｜14起\n全年累计收到法院判决书41份。\n", encoding="utf-8")
    blocks = read_blocks(path)
    assert blocks[2:] == ["民事诉讼案件：数量50起。", "行政诉讼案件：数量14起。", "全年累计收到法院判决书41份。"]
    _, passages = read_report(path)
    assert any("行政诉讼案件：数量14起" in p.text for p in passages)

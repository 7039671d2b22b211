"""Report files → paragraphs of original text (one string per paragraph, in reading order).

Readable endings are ``READABLE``; every failure is a ``ReportError``, never a library exception:

    UnsupportedFormatError(".doc")       the ending is not readable (.doc, .xlsx, images, …; "none")
    UnsupportedFormatError("binary")     a .txt/.md whose bytes are not text
    UnsupportedFormatError("corrupt")    a .docx/.pdf whose bytes are not that format, or that the
                                         library cannot open (random bytes, truncated, renamed .xlsx)
    UnsupportedFormatError("encrypted")  a PDF that opens only with a password
    NoTextError                          empty or white space only; a PDF without a text layer
                                         (scanned); a .docx holding only pictures
"""

import io
import logging
import re
import unicodedata
import zipfile
from pathlib import Path

import docx
from docx.table import Table
from pypdf import PdfReader

from retrieval.errors import NoTextError, UnsupportedFormatError

logger = logging.getLogger(__name__)

READABLE = (".txt", ".md", ".docx", ".pdf")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old Word / Excel binaries, often renamed .docx
_SERIAL_HEADERS = ("序号", "编号")
_YEAR_HEADER = re.compile(r"^(?:19|20)\d\d年?度?$")
_MD_PREFIX = re.compile(r"^\s{0,3}(?:#{1,6}\s*|>\s?|[-*+]\s+)")
_MD_RULE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$")
_MD_TABLE_RULE = re.compile(r"^\|?[\s:|-]*-{3,}[\s:|-]*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_PAGE_NUMBER = re.compile(
    r"^[-—–\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:[/／]\s*\d{1,4}|共\s*\d{1,4}\s*页)?[-—–\s]*$"
)
_OUTLINE_START = re.compile(
    r"^(?:[一二三四五六七八九十]+[、是]|[（(][一二三四五六七八九十\d]{1,3}[）)]|\d{1,2}[、.．](?!\d))"
)
_SENTENCE_END = re.compile(r"[。！？!?…][”’」』）)]*$")
_CJK = r"\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
_SHORT_LINE = 0.8  # a PDF line narrower than this share of a full line ends its paragraph


_CELL_BAR = re.compile(r"\s*[｜|]\s*")


def read_blocks(path: Path) -> list[str]:
    """Paragraphs of ``path``; raises a ``ReportError`` when the file cannot be read as a report."""
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise UnsupportedFormatError(suffix or "none")
    data = path.read_bytes()
    if not data.strip():
        raise NoTextError(path.name)
    if suffix == ".docx":
        blocks = _docx_blocks(data)
    elif suffix == ".pdf":
        blocks = _pdf_blocks(data)
    elif suffix == ".md":
        blocks = _markdown_blocks(_text(data))
    else:
        blocks = _plain_blocks(_text(data))
    if not blocks:
        raise NoTextError(path.name)
    return blocks


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), falling back to GB18030 as saved by Chinese Windows editors."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnsupportedFormatError("binary")


def _text(data: bytes) -> str:
    if b"\x00" in data or data.startswith((b"PK\x03\x04", b"%PDF", _OLE2)):
        raise UnsupportedFormatError("binary")
    return decode_text(data)


def table_blocks(rows: list[list[str | None]]) -> list[str]:
    """One block per data row: "行标题：列标题单元格；列标题单元格。" so each figure keeps its headers.

    ``None`` marks the continuation of a cell merged across columns. Leading rows that repeat the
    corner cell (a header merged down) are header rows too; their texts join per column.
    """
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    if len(rows) == 1 or max(len(row) for row in rows) == 1:  # a layout box, not a data table
        return [line for row in rows for cell in row if cell for line in cell.splitlines() if line.strip()]
    head_rows = 0 if any(_is_figure(cell) for cell in rows[0][1:]) else 1  # no header row: 调解纠纷 | 63起
    while 0 < head_rows < len(rows) - 1 and rows[head_rows][0] and rows[head_rows][0] == rows[0][0]:
        head_rows += 1
    headers, body = _column_headers(rows[:head_rows]), rows[head_rows:]
    if headers and "".join(headers[0]) in _SERIAL_HEADERS and len(headers) > 2:  # "序号" 1, 2, 3 says nothing
        headers, body = headers[1:], [row[1:] for row in body]
    blocks = []
    for row in body:
        label = " ".join((row[0] or "").split()) if row else ""
        cells = [_with_header(headers, row, i) for i in range(1, len(row)) if row[i]]
        if cells:
            blocks.append(f"{label}：{'；'.join(cells)}。" if label else f"{'；'.join(cells)}。")
        elif label:
            blocks.append(label)
    return blocks


def _is_figure(cell: str | None) -> bool:
    """A cell holding a figure rather than a header; years such as "2023年" are headers."""
    text = "".join((cell or "").split())
    return any(char.isdigit() for char in text) and not _YEAR_HEADER.match(text)


def _with_header(headers: list[list[str]], row: list[str | None], i: int) -> str:
    """Cell ``i`` after its column header; a cell merged across columns gets the header parts they share."""
    end = i + 1
    while end < len(row) and row[end] is None:
        end += 1
    spanned = [headers[k] if k < len(headers) else [] for k in range(i, end)]
    shared = [part for part in spanned[0] if all(part in other for other in spanned[1:])]
    return "".join(shared) + " ".join((row[i] or "").split())


def _column_headers(head: list[list[str | None]]) -> list[list[str]]:
    """Header texts of each column, top to bottom; a merged header spreads over the columns it covers."""
    width = max((len(row) for row in head), default=0)
    headers = []
    for col in range(width):
        parts: list[str] = []
        for row in head:
            text = next((c for c in reversed(row[: col + 1]) if c is not None), "") if col < len(row) else ""
            text = " ".join(text.split())
            if text and text not in parts:
                parts.append(text)
        headers.append(parts)
    return headers


def _plain_blocks(text: str) -> list[str]:
    """Lines of plain text; a run of lines cut by ｜ or | into the same number of cells is a table
    ("案件类型｜数量" over "行政诉讼案件｜14起"), read as ``table_blocks`` reads one."""
    blocks: list[str] = []
    table: list[list[str | None]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        cells = [cell.strip() for cell in _CELL_BAR.split(line.strip("|｜"))] if _CELL_BAR.search(line) else []
        if len(cells) >= 2 and (not table or len(cells) == len(table[0])):
            table.append(list(cells))
            continue
        blocks.extend(table_blocks(table))
        table = [list(cells)] if len(cells) >= 2 else []
        if line and not table:
            blocks.append(line)
    return blocks + table_blocks(table)


def _markdown_blocks(text: str) -> list[str]:
    """Markdown syntax removed; outline markers such as "1." and "（一）" are report text and stay."""
    blocks: list[str] = []
    table: list[list[str | None]] = []
    for raw in text.splitlines():
        if _MD_RULE.match(raw):
            continue
        line = _MD_LINK.sub(r"\1", raw).replace("**", "").replace("__", "").strip()
        if line.startswith("|"):
            if not _MD_TABLE_RULE.match(line):
                table.append([cell.strip() for cell in line.strip("|").split("|")])
            continue
        blocks.extend(table_blocks(table))
        table = []
        line = _MD_PREFIX.sub("", line).strip()
        if line:
            blocks.append(line)
    return blocks + table_blocks(table)


def _docx_blocks(data: bytes) -> list[str]:
    """Body paragraphs and tables in document order (headers, footers and text boxes are left out)."""
    if data.startswith(_OLE2):
        raise UnsupportedFormatError(".doc")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnsupportedFormatError("corrupt")
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(table_blocks(_docx_rows(item)))
            elif item.text.strip():
                blocks.append(item.text)
    except Exception as err:  # python-docx raises KeyError, ValueError, lxml errors … on bad packages
        logger.info("cannot open .docx: %r", err)
        raise UnsupportedFormatError("corrupt") from err
    return blocks


def _docx_rows(table: Table) -> list[list[str | None]]:
    """Cell texts per row (paragraphs on lines); ``None`` where a cell merged across columns repeats."""
    rows = []
    for row in table.rows:
        cells = row.cells
        texts: list[str | None] = []
        for i, cell in enumerate(cells):
            repeated = i > 0 and cell._tc is cells[i - 1]._tc  # python-docx repeats a spanning cell
            texts.append(None if repeated else cell.text.strip())
        rows.append(texts)
    return rows


def _pdf_blocks(data: bytes) -> list[str]:
    """Text-layer lines, page furniture dropped, hard-wrapped lines joined back into paragraphs."""
    if b"%PDF-" not in data[:1024]:
        raise UnsupportedFormatError("corrupt")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedFormatError("encrypted")
        pages = [_page_lines(page.extract_text() or "") for page in reader.pages]
    except UnsupportedFormatError:
        raise
    except Exception as err:  # pypdf raises PdfReadError, ValueError, KeyError … on damaged files
        logger.info("cannot open .pdf: %r", err)
        raise UnsupportedFormatError("corrupt") from err
    return _join_wrapped(_drop_furniture(pages))


def _page_lines(text: str) -> list[str]:
    lines = (_SPACE_IN_CJK.sub("", line).strip() for line in text.splitlines())
    return [line for line in lines if line and not _PAGE_NUMBER.match(line)]


def _drop_furniture(pages: list[list[str]]) -> list[str]:
    """Lines of all pages; a line standing first or last on two or more pages (a running header or
    footer) is kept only where it first appears."""
    edges: dict[str, int] = {}
    for lines in pages:
        for key in {_furniture_key(lines[0]), _furniture_key(lines[-1])} if lines else ():
            edges[key] = edges.get(key, 0) + 1
    seen: set[str] = set()
    kept = []
    for lines in pages:
        for i, line in enumerate(lines):
            key = _furniture_key(line)
            if i in (0, len(lines) - 1) and edges.get(key, 0) >= 2 and key in seen:
                continue
            seen.add(key)
            kept.append(line)
    return kept


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", line)  # "第2页" and "第3页" are the same footer


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)


def _join_wrapped(lines: list[str]) -> list[str]:
    """A paragraph ends after a line that is short (narrower than a full line) or that ends a
    sentence, and before a line opening with an outline marker; other lines continue it."""
    if not lines:
        return []
    widths = sorted(_width(line) for line in lines)
    full = widths[int(0.9 * (len(widths) - 1))]
    blocks: list[str] = []
    current = ""
    for line in lines:
        if current and _OUTLINE_START.match(line):
            blocks.append(current)
            current = ""
        if current and current[-1].isascii() and current[-1].isalnum() and line[0].isascii():
            current += " "
        current += line
        if _width(line) < _SHORT_LINE * full or _SENTENCE_END.search(line):
            blocks.append(current)
            current = ""
    return blocks + [current] if current else blocks

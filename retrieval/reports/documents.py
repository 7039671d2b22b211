"""Reports → passages: title, unit (town, district, bureau …) and year from the content, every paragraph with
its section path."""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import DuplicateReportError, MissingMetadataError, NoTextError, ReportError
from retrieval.reports.readers import read_blocks
from retrieval.reports.units import TOWN_KINDS, unit_of_report, unit_of_title

MAX_PASSAGE_CHARS = 320
_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
_SPACES = re.compile(r"[\s\u3000\u00a0]+")
_TOWN = re.compile(r"([\u4e00-\u9fff]{1,6}?(?:镇|乡|街道))(?!村|镇|土|亲|贤|里|政府建设)")
_NOT_TOWN = ("乡镇", "城镇", "村镇", "城乡", "我镇", "全镇", "本镇", "各镇", "该镇", "我乡", "全乡", "集镇", "小镇",
             # words that end in 乡 or 镇 and name no place: "核查返乡人员", "送法下乡", "坐镇指挥"
             "返乡", "回乡", "下乡", "家乡", "老乡", "故乡", "同乡", "还乡", "离乡", "异乡", "外乡",
             "坐镇", "重镇", "古镇", *TOWN_KINDS)
# How the words before 镇/乡/街道 end when they name no town: a preposition ("城西区往街道下放…", "下放到街道"),
# or a unit of another kind and a conjunction ("部门和街道一把手"; 太和镇 and 永和镇 end in 和 themselves).
_NOT_STEM = re.compile(r"[往向到给对于从由把被]$|(?:部门|单位|机关|社区|企业|学校|政府|区直|县直|市直)[和与及或、]?$")
_YEAR = re.compile(r"(20\d\d)\s*年")
_TABLE_ROW = re.compile(r"^[^：]{1,20}：[^：]*\d")  # "合计：件数98件。", a short row of a table
_DATE = re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN = "一二三四五六七八九十"
# Outline markers: (style, family, pattern). Styles of one family can stand at the same level.
_MARKERS = [
    ("cn_dun", "list", re.compile(rf"^([{_CN}]+)、")),
    ("ar_dun", "list", re.compile(r"^(\d{1,2})、")),
    ("ar_dot", "list", re.compile(r"^(\d{1,2})[.．](?!\d)")),
    ("cn_paren", "paren", re.compile(rf"^[（(]([{_CN}]+)[）)]")),
    ("ar_paren", "paren", re.compile(r"^[（(](\d{1,2})[）)]")),
    ("shi", "shi", re.compile(rf"^([{_CN}]+)是")),
]
_INLINE_MARKER = re.compile(rf"(?<=[。；;])\s*(?=[{_CN}]+是|\d{{1,2}}[.．](?!\d))")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")


@dataclass(frozen=True)
class Report:
    """One report: a unit's report for one year (``town`` holds the unit's name: 太平镇, 城南区, 民权县司法局)."""

    doc_id: str
    title: str
    town: str
    year: int
    source: str
    date: str | None = None
    passages: int = 0
    figures: int = 0

    @property
    def label(self) -> str:
        return f"{self.town}（{self.year}年）"


@dataclass(frozen=True)
class Passage:
    """A paragraph (or part of a long one) of original report text and where it stands."""

    doc_id: str
    section: tuple[str, ...]
    text: str

    @property
    def clean(self) -> str:
        return clean_text(self.text)

    @property
    def section_path(self) -> str:
        return " › ".join(self.section)


def clean_text(text: str) -> str:
    """Text for indexing: export noise and all white space removed (quotes keep the original)."""
    return _SPACES.sub("", _BOOKMARK.sub("", text))


def _quote_text(text: str) -> str:
    return _BOOKMARK.sub("", text).strip(" \t\u3000\u00a0\r\n")


def _marker(line: str) -> tuple[str, str, int] | None:
    for style, family, pattern in _MARKERS:
        match = pattern.match(line)
        if match:
            number = match.group(1)
            value = int(number) if number.isdigit() else _CN.index(number[-1]) + 1 + 10 * (len(number) > 1)
            return style, family, value
    return None


def _heading_label(line: str) -> str:
    title = re.split(r"[。：:；;]", line, maxsplit=1)[0].strip()
    return title if len(title) <= 30 else title[:24] + "…"


class _Outline:
    """A stack of open headings; a marker closes the deeper ones of its own level."""

    def __init__(self) -> None:
        self.stack: list[tuple[str, str, int, str]] = []  # style, family, value, label

    def enter(self, line: str) -> None:
        marker = _marker(line)
        if marker is None:
            return
        style, family, value = marker
        level = next((i for i, entry in enumerate(self.stack) if entry[0] == style), None)
        if level is None:  # same family continuing its count: 1、 … （1）（2） … （三） … 二、
            level = next((i for i, (_, fam, val, _) in enumerate(self.stack)
                          if fam == family and val + 1 == value), None)
        if level is not None:
            del self.stack[level:]
        self.stack.append((style, family, value, _heading_label(line)))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(label for *_, label in self.stack)


def _split_long(text: str) -> list[str]:
    if len(text) <= MAX_PASSAGE_CHARS:
        return [text]
    chunks, current = [], ""
    for sentence in filter(None, _SENTENCE_END.split(text)):
        if current and len(current) + len(sentence) > MAX_PASSAGE_CHARS:
            chunks.append(current)
            current = ""
        current += sentence
    return chunks + [current] if current else chunks


def _find_title(lines: list[str]) -> tuple[str, int]:
    """The report title among the first lines (joined with an issuing-body line above it)."""
    head = [(i, clean_text(line)) for i, line in enumerate(lines) if clean_text(line)][:6]
    for pos, (i, text) in enumerate(head):
        if _marker(text):
            break  # the outline has begun: no title line
        if re.search(r"报告|总结|汇报|情况", text) and len(text) <= 60 and not text.endswith("。"):
            if text.startswith("关于") and pos > 0 and len(head[pos - 1][1]) <= 20:
                return head[pos - 1][1] + text, i
            return text, i
    first = head[0][1] if head else ""
    return (first, head[0][0]) if first and len(first) <= 60 and not _marker(first) else ("", -1)


def towns_in(text: str) -> list[str]:
    """Town names (镇/乡/街道) mentioned in free text (a question), county prefixes removed (杭州道街道 stays
    whole; 王集镇 is a town, 开展集镇 is not). A report's own unit comes from ``retrieval.reports.units``."""
    found, previous_end = [], -1
    for match in _TOWN.finditer(text):
        name = re.split(r"(?:[省市县区]|自治州)", match.group(1))[-1]
        if match.start() == previous_end:  # "红旗镇和白云乡": the conjunction is not part of the name
            name = re.sub(r"^[和与及跟同、]", "", name)
        previous_end = match.end()
        named_market = name.endswith(("集镇", "集乡")) and len(name) == 3  # 王集镇 (开展集镇: a verb and 集镇)
        stem = re.sub(r"(?:街道|镇|乡)$", "", name)
        generic = (name[0] in "哪各每几该本我全那这其某" or bool(re.search(r"[是的了在有个哪那这我每]", name))
                   or (any(name.endswith(bad) for bad in _NOT_TOWN) and not named_market)
                   or len(stem) < 2 or bool(_NOT_STEM.search(stem)))
        if len(name) >= 2 and not generic:
            found.append(name)
    return found


def _year(title: str, body: str, hint: str) -> int | None:
    years = _YEAR.findall(title) or _YEAR.findall(body[:400]) or _YEAR.findall(hint) or re.findall(r"20\d\d", hint)
    return int(years[0]) if years else None


def _metadata(title: str, blocks: list[str], body: str, hint: str, *, source: str, unit: str | None,
              year: int | None) -> tuple[str, int]:
    """Unit and year: as given, else from the content, else from the hint; refused naming ``source``."""
    unit = unit or unit_of_report(title, blocks, body) or unit_of_title(hint) or next(iter(towns_in(hint)), None)
    year = year or _year(title, body, hint)
    if unit is None or year is None:
        raise MissingMetadataError([name for name, value in (("town", unit), ("year", year)) if not value],
                                   source=source)
    return unit, year


def read_override(caption: str) -> tuple[str | None, int | None]:
    """The unit and year an uploader states (``城南区 2024``, ``城南区2024年报告``); None where it states none."""
    years = re.findall(r"((?:19|20)\d\d)(?!\d)", caption)
    return unit_of_title(caption), int(years[0]) if years else None


def parse_report(blocks: list[str], *, source: str, hint: str = "", unit: str | None = None,
                 year: int | None = None) -> tuple[Report, list[Passage]]:
    """A report and its passages from paragraphs of original text. ``unit`` and ``year`` (given by the
    uploader) override what the content says; ``hint`` (file name, caption) supplies them only when the
    content does not. The unit's name goes into ``Report.town`` (a 镇, 街道, 区, 局 …)."""
    body = "\n".join(clean_text(block) for block in blocks)
    if not body.strip():
        error = NoTextError(source)
        error.source = source
        raise error
    title, title_at = _find_title(blocks)
    town, year = _metadata(title, blocks, body, hint, source=source, unit=unit, year=year)
    doc_id = hashlib.sha256(body.encode()).hexdigest()[:16]
    dates = _DATE.findall(body[-300:]) or _DATE.findall(title)
    date = "{}-{:02d}-{:02d}".format(*map(int, dates[-1])) if dates else None

    outline, passages = _Outline(), []
    for i, block in enumerate(blocks):
        if i <= title_at:
            continue
        for part in _INLINE_MARKER.split(_quote_text(block)):
            part = part.strip()
            clean = clean_text(part)
            outline.enter(clean)
            marker = _marker(clean)
            bare_heading = marker and marker[0] != "shi" and len(clean) - len(_heading_label(clean)) <= 1
            if (len(clean) < 12 and not _TABLE_ROW.match(clean)) or bare_heading:
                continue  # a bare heading, a signature or a date line
            passages.extend(Passage(doc_id, outline.path, chunk) for chunk in _split_long(part))
    report = Report(doc_id, title or f"{town}{year}年报告", town, year, source, date, len(passages))
    return report, passages


def read_report(path: Path, *, hint: str = "", unit: str | None = None,
                year: int | None = None) -> tuple[Report, list[Passage]]:
    """Read and parse one report file; the file name is a metadata hint after the content. A refusal
    names the file (``ReportError.source``)."""
    try:
        blocks = read_blocks(path)
    except ReportError as error:
        error.source = error.source or path.name
        raise
    return parse_report(blocks, source=path.name, hint=f"{hint} {path.stem}", unit=unit, year=year)


def ensure_distinct(reports: Sequence[Report]) -> None:
    """Refuse a batch in which two files are reports of the same unit and year (never replace silently)."""
    seen: dict[tuple[str, int], Report] = {}
    for report in reports:
        first = seen.setdefault((report.town, report.year), report)
        if first is not report:
            raise DuplicateReportError((first.source, report.source), report.town, report.year)

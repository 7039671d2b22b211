"""The Chinese text of an answer, plain for the CLI and JSON, HTML for Telegram (same words).

A comparison can also be shown as a table (``table=True``): one row per unit with its year, the figure as
printed and what it counts, the units without a figure after them; columns are aligned by display width
(``wcwidth``: a Chinese character takes two columns), narrow enough for a phone.
"""

import csv
import html as html_lib
import io
from collections.abc import Callable
from dataclasses import dataclass

from wcwidth import wcswidth

from retrieval.answers.reply.answer import Answer, Citation

QUOTE_CHARS = 160
TABLE_COLUMNS = 36  # widest table line, in display columns: what a phone shows in a <pre> block unwrapped
TERMINAL_COLUMNS = 72  # the same in a terminal
TABLE_HEADER = ("单位", "年份", "数字", "所计")
MISSING_SHOWN = 20  # reports without a figure named in a message; all of them are in the CSV
NO_FIGURE = "未给出"
GROUP_NAMES = {"person": "人数", "person_times": "人次", "times": "次数", "case": "件数", "org": "机构数",
               "visit": "户次", "money": "金额", "percent": "比例", "item": "数量", "area": "面积",
               "household": "户数", "generic": "个数", "duration": "时长", "date": "日期"}


@dataclass(frozen=True)
class Row:
    """One unit of a comparison: its figure (None when its report gives none)."""

    unit: str
    year: int
    figure: str | None = None
    noun: str = ""
    value: float | None = None
    group: str = ""
    measure: str = ""


def comparison_rows(answer: Answer, *, everything: bool = False) -> list[Row]:
    """The rows of a comparison, in the answer's order (ranked when most/least was asked), one kind of unit
    after another (the units without a figure are ``answer.missing``): the shown ones, or with ``everything``
    the shown ones and then ``answer.more``."""
    cited = (*answer.citations, *answer.more) if everything else answer.citations
    rows = [Row(c.source.report.town, c.source.report.year, f.text, f.subject, f.value, f.group, f.unit)
            for c in (cited if answer.found else ()) if (f := c.figure) is not None]
    kinds = list(dict.fromkeys(row.group for row in rows))
    rows.sort(key=lambda row: kinds.index(row.group))
    return rows


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` display columns (with …) and padded to it."""
    if wcswidth(text) > width:
        while text and wcswidth(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - wcswidth(text))


def table_text(rows: list[Row], columns: int = TABLE_COLUMNS) -> str:
    """The rows as an aligned text table (header first)."""
    cells = [TABLE_HEADER] + [(r.unit, str(r.year), r.figure or NO_FIGURE, r.noun) for r in rows]
    unit_w = min(max(wcswidth(c[0]) for c in cells), 12)
    figure_w = max(wcswidth(c[2]) for c in cells)  # a figure is quoted whole, never cut
    noun_w = max(columns - unit_w - 4 - figure_w - 3, 6)
    lines = [" ".join((_fit(u, unit_w), _fit(y, 4), _fit(f, figure_w), _fit(n, noun_w))).rstrip()
             for u, y, f, n in cells]
    return "\n".join(lines)


def table_notes(rows: list[Row]) -> list[str]:
    """What a reader must know before comparing: different kinds of unit, different years."""
    notes = []
    kinds = list(dict.fromkeys(r.group for r in rows if r.figure))
    if len(kinds) > 1:
        measures = "、".join("/".join(dict.fromkeys(r.measure for r in rows if r.group == k)) for k in kinds)
        notes.append(f"注意：计量单位不同（{measures}），已分组列出，不能直接比较。")
    if len({r.year for r in rows if r.figure}) > 1:
        notes.append("注意：各报告年份不同，比较时请留意。")
    return notes


def table_csv(answer: Answer) -> str:
    """The full comparison table as CSV (header 单位,年份,数字,所计,数值,计量单位): every unit with a figure,
    the shown ones first, then every unit without one."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*TABLE_HEADER, "数值", "计量单位"])
    for r in comparison_rows(answer, everything=True):
        writer.writerow([r.unit, r.year, r.figure, r.noun, "" if r.value is None else r.value, r.measure])
    for label in answer.missing:
        town, _, year = label.partition("（")
        writer.writerow([town, year.rstrip("年）"), NO_FIGURE, "", "", ""])
    return out.getvalue()


def truncated(answer: Answer) -> bool:
    """Whether a comparison shows only part of itself (its top units, or some of the units without): its full
    table is then sent as a CSV file (``table_csv``)."""
    return answer.found and answer.kind == "compare" and (bool(answer.more) or len(answer.missing) > MISSING_SHOWN)


def count_line(answer: Answer) -> str:
    """"共N个单位有此数字，M个没有" and how many are shown (a truncated comparison)."""
    what = "有此数字" if is_table(answer) else "提到"
    return f"共{answer.units_with}个单位{what}，{answer.units_without}个没有（列出{len(answer.citations)}个）。"


def _missing(missing: tuple[str, ...]) -> str:
    shown = "、".join(missing[:MISSING_SHOWN])
    return shown if len(missing) <= MISSING_SHOWN else f"{shown}等{len(missing)}份"


def is_table(answer: Answer) -> bool:
    """Whether ``answer`` is a comparison of figures (what a table and a chart show)."""
    return answer.found and answer.kind == "compare" and any(c.figure is not None for c in answer.citations)


def _source_line(citation: Citation, esc: Callable[[str], str]) -> str:
    report = citation.source.report
    section = f" {citation.source.section}" if citation.source.section else ""
    return esc(f"来源：《{report.title}》{section}")


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "……"


def _quote_around(sentence: str, phrase: str) -> str:
    """The sentence, trimmed to a window around ``phrase`` when long."""
    if len(sentence) <= QUOTE_CHARS:
        return sentence
    at = max(sentence.find(phrase), 0)
    start = max(0, at - 50)
    end = min(len(sentence), at + len(phrase) + 60)
    return ("……" if start else "") + sentence[start:end] + ("……" if end < len(sentence) else "")


def _figure_lines(citation: Citation, esc: Callable[[str], str], bold: Callable[[str], str],
                  label: bool) -> list[str]:
    figure = citation.figure
    assert figure is not None
    head, _, tail = citation.headline.partition(figure.text)
    prefix = esc(citation.source.report.label + "：") if label else ""
    lines = [prefix + esc(head) + bold(figure.text) + esc(tail)]
    if citation.extra:
        lines.append(esc("分项：" + "；".join(f.subject + f.text if f.subject else f.text for f in citation.extra)))
    sentence = citation.sentence if citation.extra else _quote_around(citation.sentence, citation.headline)
    lines.append(esc(f"原文：「{sentence}」"))
    lines.append(_source_line(citation, esc))
    return lines


def render(answer: Answer, *, html: bool = False, table: bool = False) -> str:
    """The answer as the user reads it; with ``html`` the text is escaped and each figure is bold; with
    ``table`` a comparison of figures opens with its table (in a ``<pre>`` block for HTML)."""
    esc: Callable[[str], str] = html_lib.escape if html else str
    bold: Callable[[str], str] = (lambda s: f"<b>{html_lib.escape(s)}</b>") if html else str
    if table and is_table(answer):
        return _render_table(answer, esc, bold, html)
    lines: list[str] = []
    if not answer.found:
        lines.append(esc(answer.lead))
        for citation in answer.citations:
            lines.append(esc(f"最接近的段落（{citation.source.report.label}）：「{_quote(citation.sentence, 240)}」"))
            lines.append(_source_line(citation, esc))
        return "\n".join(lines)
    if answer.kind == "compare":
        lines.append(esc(answer.lead + "："))
        if truncated(answer):
            lines.append(esc(count_line(answer)))
    previous: Citation | None = None
    for citation in answer.citations:
        if answer.kind == "compare" and lines[-1:] != [""]:
            lines.append("")
        if citation.figure is not None and previous is not None and previous.sentence == citation.sentence:
            lines.insert(-2, _figure_lines(citation, esc, bold, label=True)[0])  # same sentence: one quote
        elif citation.figure is not None:
            lines += _figure_lines(citation, esc, bold, label=True)
        else:
            lines.append(esc(f"{citation.source.report.label}：「{citation.sentence}」"))
            lines.append(_source_line(citation, esc))
        previous = citation
    if answer.missing:
        lines += ["", esc("报告中没有给出的：" + _missing(answer.missing))]
    years = {c.source.report.year for c in answer.citations}
    if answer.kind == "compare" and len(years) > 1:
        lines.append(esc("注意：各报告年份不同，比较时请留意。"))
    return "\n".join(lines)


def _render_table(answer: Answer, esc: Callable[[str], str], bold: Callable[[str], str], html: bool) -> str:
    rows = comparison_rows(answer)
    block = table_text(rows, TABLE_COLUMNS if html else TERMINAL_COLUMNS)
    lines = [esc(answer.lead + "："), f"<pre>{esc(block)}</pre>" if html else block]
    if truncated(answer):
        lines.append(esc(count_line(answer)))
    if answer.missing:
        lines.append(esc(f"{NO_FIGURE}：" + _missing(answer.missing)))
    lines += [esc(note) for note in table_notes(rows)]
    for citation in answer.citations:
        if citation.figure is not None:
            lines += ["", *_figure_lines(citation, esc, bold, label=True)]
    return "\n".join(lines)

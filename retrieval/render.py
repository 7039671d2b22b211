"""The Chinese text of an answer, plain for the CLI and JSON, HTML for Telegram (same words)."""

import html as html_lib
from collections.abc import Callable

from retrieval.answer import Answer, Citation

QUOTE_CHARS = 160


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


def render(answer: Answer, *, html: bool = False) -> str:
    """The answer as the user reads it; with ``html`` the text is escaped and each figure is bold."""
    esc: Callable[[str], str] = html_lib.escape if html else str
    bold: Callable[[str], str] = (lambda s: f"<b>{html_lib.escape(s)}</b>") if html else str
    lines: list[str] = []
    if not answer.found:
        lines.append(esc(answer.lead))
        for citation in answer.citations:
            lines.append(esc(f"最接近的段落（{citation.source.report.label}）：「{_quote(citation.sentence, 240)}」"))
            lines.append(_source_line(citation, esc))
        return "\n".join(lines)
    if answer.kind == "compare":
        lines.append(esc(answer.lead + "："))
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
        lines += ["", esc("报告中没有给出的：" + "、".join(answer.missing))]
    years = {c.source.report.year for c in answer.citations}
    if answer.kind == "compare" and len(years) > 1:
        lines.append(esc("注意：各报告年份不同，比较时请留意。"))
    return "\n".join(lines)

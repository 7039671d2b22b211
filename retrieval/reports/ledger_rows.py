"""A report's figure rows, extracted once when it is indexed and stored with its passages: every figure of
every sentence, with where its sentence, clause and phrase stand and the noun counted after it. The ledger
(``retrieval.answers.decide.ledger``) reads these rows; it extracts nothing at answer time.
"""

import re
from collections.abc import Callable, Iterator, Sequence

from retrieval.reports.documents import Passage
from retrieval.reports.figures import CLAUSE_BREAKS, Figure, extract_figures
from retrieval.store import FigureRow

Words = Callable[[str], list[tuple[str, str]]]  # text → jieba words with part-of-speech flags
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_FIGURE_END = re.compile(r"\d\s*[余多万亿]*[\u4e00-\u9fff]{0,2}$|[%％]$")
_PHRASE_STOPS = "，,。；;：:！？!?"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_NOUN = set("的了是在为将对把被由从向与及并已均都得到等以来左右余多")


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where each sentence of a passage stands in it (punctuation kept, blanks around it left out)."""
    for match in _SENTENCE.finditer(text):
        raw = match.group()
        start = match.start() + len(raw) - len(raw.lstrip())
        end = start + len(raw.strip())
        if end > start:
            yield start, end


def sentences(text: str) -> list[str]:
    """Sentences of a passage, punctuation kept."""
    return [text[start:end] for start, end in sentence_spans(text)]


def _words_only(text: str) -> str:
    """The Chinese of ``text`` without numbers and the measure words after them ("2023年12件；" → "")."""
    numbers = re.sub(r"\d[\d.,%％]*\s*(?:[余多万亿]*[\u4e00-\u9fff]{0,2})", "", text)
    return "".join(re.findall(r"[\u4e00-\u9fff]", numbers))


def _left_break(sentence: str, before: int) -> int:
    return max((sentence.rfind(ch, 0, before) for ch in CLAUSE_BREAKS), default=-1) + 1


def _right_break(sentence: str, after: int) -> int:
    return min((i for i in (sentence.find(ch, after) for ch in CLAUSE_BREAKS) if i >= 0), default=len(sentence))


_ROW_LABEL = 20  # the longest label a table row opens with ("行标题：")


def own_clause(sentence: str, start: int, end: int) -> str:
    """The figure's own clause, between the breaks around it, without the clauses ``clause_span`` takes in:
    "已完成142件" of "项目清单145件，已完成142件"."""
    return sentence[_left_break(sentence, start):_right_break(sentence, end)]


def clause_span(sentence: str, start: int, end: int, *, dated: bool = False) -> tuple[int, int]:
    """Where the clause holding a figure begins and ends; a clause that is nothing but figures
    ("98批次，385人次", a table row's "2023年12件；2024年18件") takes in the clauses before it, up to
    the one that names what is counted. A date (``dated``) with hardly a word beside it dates what the
    sentence goes on to say: "截止到2021年7月12日，…全部完成学习并取得结业证书" takes in the phrase after it."""
    left, right = _left_break(sentence, start), _right_break(sentence, end)
    if dated and len(_words_only(sentence[left:start] + sentence[end:right])) <= 3 and right < len(sentence) - 1:
        stops = [i for i in (sentence.find(ch, right + 1) for ch in _PHRASE_STOPS) if i >= 0]
        right = min(stops, default=len(sentence))
    while left > 1 and len(_words_only(sentence[left:start] + sentence[end:right])) < 2:
        left = _left_break(sentence, left - 1)
    head = start  # where the words of the clause the span opens with end
    while left > 1 and len(_words_only(sentence[left:head])) <= 3 and _FIGURE_END.search(sentence[:left - 1]):
        # "项目清单145件，已完成142件，完成率97.9%": a short verb or label continuing a list of figures shares
        # the subject of the first
        head, left = left - 1, _left_break(sentence, left - 1)
    if 1 < left <= _ROW_LABEL and sentence[left - 1] == "：" and _left_break(sentence, left - 1) == 0:
        left = 0  # a table row, "民事诉讼案件：数量50起": its label names what is counted
    return left, right


def phrase_span(sentence: str, figure: Figure) -> tuple[int, int]:
    """The comma-delimited stretch holding a figure (wider than its clause: 、 does not end it); when it
    opens with no more than a short verb ("已完成142件"), the stretch before it names what is counted."""
    left = max((sentence.rfind(ch, 0, figure.start) for ch in _PHRASE_STOPS), default=-1) + 1
    if left > 1 and len(_words_only(sentence[left:figure.start])) <= 3:
        left = max((sentence.rfind(ch, 0, left - 1) for ch in _PHRASE_STOPS), default=-1) + 1
    rights = [i for i in (sentence.find(ch, figure.end) for ch in _PHRASE_STOPS) if i >= 0]
    return left, min(rights, default=len(sentence))


def noun_after(rest: str, words: Words) -> str:
    """The first word after a figure when it is a noun naming what is counted ("村" in "19个村实现…")."""
    if not rest or not _CJK.match(rest) or rest[0] in _NOT_NOUN:
        return ""
    first = words(rest[:12])
    return first[0][0] if first and first[0][1].startswith(("n", "zg")) else ""  # jieba tags a lone 村 zg


def passage_rows(offset: int, passage: Passage, words: Words) -> list[FigureRow]:
    """The figure rows of one passage (the ``offset``-th of its report), in reading order."""
    out = []
    for index, (start, end) in enumerate(sentence_spans(passage.text)):
        sentence = passage.text[start:end]
        for position, figure in enumerate(extract_figures(sentence)):
            clause = clause_span(sentence, figure.start, figure.end, dated=figure.kind == "date")
            out.append(FigureRow(offset, index, (start, end), figure, clause, phrase_span(sentence, figure),
                                 position, noun_after(sentence[figure.end:clause[1]], words)))
    return out


def figure_rows(passages: Sequence[Passage], words: Words) -> list[FigureRow]:
    """The figure rows of a report's passages (in reading order)."""
    return [row for offset, passage in enumerate(passages) for row in passage_rows(offset, passage, words)]

"""General features of one candidate figure for one question, the input of the fitted decision.

Nothing here names a question, a town or a figure: each feature measures how the question's words, meaning,
measure word and year meet the figure's own clause, sentence, passage and section.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retrieval.answers.decide.ledger import Entry
from retrieval.answers.meaning.matching import coverage, head_match, match, missing_weight
from retrieval.answers.question.query import Query
from retrieval.reports.ledger_rows import own_clause

FEATURES = (
    "clause_exact", "clause_head", "clause_meaning", "own_meaning", "sentence_meaning", "passage_meaning",
    "anchored", "near_before", "counted_head", "counted_after_match", "counted_after_other", "after_head",
    "person_times_for_person",
    "missing_noun", "missing_noun_clause", "part_missing", "whole_missing", "zoned_exact", "zoned_meaning",
    "context_meaning",
    "row_similarity", "row_similarity_lead", "passage_similarity", "passage_score", "passage_rank",
    "unit_asked", "unit_free", "money_unasked", "year_other", "year_same", "predicate", "total_word",
    "first_in_sentence",
    "problem_section", "english", "inherited", "no_town", "place_missing", "missing_known", "missing_unknown",
)
# Sections on shortcomings and next year's plans: a practice or result is not told there.
PROBLEMS = re.compile(r"问题|不足|短板|差距|困难|下一步|计划|打算|思路|展望|202\d年工作")
ZONES = (1.0, 0.9, 0.6, 0.35)
# How far a row's similarity to the question falls behind the nearest row's: 1 for the nearest, 0.5 for a row
# 0.05 behind. Not its rank: two rows of one sentence are 0.01 apart, and ranks would set them far apart.
ROW_GAP_SCALE = 20.0
NEAR_SPAN = 12  # characters before a figure that the words before the question word are looked for in
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TOTAL = ("全镇", "全乡", "全街道", "全区", "全县", "共计", "总计", "合计", "总共", "共有", "累计", "共")


@dataclass(frozen=True)
class Context:
    """What the features of one question share: its query, term weights and the passages' scores."""

    query: Query
    weight: Callable[[str, float], float]
    known: Callable[[str], bool] = lambda term: True  # whether the reports use a word at all


def _predicate(query: Query, clause: str, entry: Entry) -> float:
    """The question's verb right before the figure ("完成了多少件" ~ "已完成142件")."""
    before = clause[:clause.find(entry.figure.text)]
    return float(any(before.endswith(verb) or before.endswith(verb + "了") for verb in query.verbs))


def _year(query: Query, report_year: int, entry: Entry) -> tuple[float, float]:
    """(labelled with another year, labelled with the asked year): "2023年12件" in a 2024 report's table."""
    before = entry.clause[:entry.clause.find(entry.figure.text)]
    years = [int(y) for y in re.findall(r"(20\d\d)\s*年", before)]
    if not years:
        return 0.0, 0.0
    wanted = query.year or report_year
    return (0.0, 1.0) if wanted in years else (1.0, 0.0)


def _zoned(query: Query, ctx: Context, *zones: str) -> tuple[float, float]:
    """Topic coverage where a word counts by how close to the figure it stands (its counted noun 1.0, its
    clause 0.9, its sentence 0.6, its passage 0.35): (by word or head noun, by meaning too)."""
    total = head = meaning = 0.0
    for term, k in query.terms:
        w = ctx.weight(term, k)
        total += w
        matches = [(zw, match(term, zone)) for zw, zone in zip(ZONES, zones, strict=True)]
        head += w * max(zw * m.head for zw, m in matches)
        meaning += w * max(zw * m.meaning for zw, m in matches)
    return (head / total, meaning / total) if total else (0.0, 0.0)


def _missing(ctx: Context, zone: str, known: bool) -> float:
    """The weight share of the question's words that ``zone`` lacks in every form, among the words the
    reports use (``known``: a distinguishing word the figure does not carry, 表彰 of "表彰了多少名调解员") or
    among those they never use (colloquial words: 老百姓, 加起来)."""
    terms = ctx.query.terms
    total = sum(ctx.weight(t, k) for t, k in terms) or 1.0
    lacking = sum(ctx.weight(t, k) for t, k in terms if ctx.known(t) == known and match(t, zone).meaning < 0.75)
    return lacking / total


def names(query: Query, word: str, entry: Entry | None = None) -> bool:
    """``word`` (the noun after a figure) is one of the question's words, in some form; with ``entry``, a
    question noun that closes the compound ``word`` begins also counts ("0条问题线索" counts 线索)."""
    asked = [*(t for t, _ in query.terms), *([query.counted] if query.counted else [])]
    if any(match(term, word).meaning >= 0.75 or head_match(word, term) >= 0.75 for term in asked):
        return True
    if entry is None:
        return False
    rest = entry.sentence[entry.figure.end + len(word):]
    nouns = [t for t, k in query.terms if k >= 1.0] + ([query.counted] if query.counted else [])
    return any(len(term) >= 2 and rest.startswith(term) for term in nouns)


def after_head(query: Query, after: str) -> bool:
    """The noun counted right after the figure is a noun of the question or ends like one: "63名人民调解员" for
    调解员, "10个网格单元" for 网格单元, not "55名专职网格员"."""
    nouns = [t for t, w in query.terms if w >= 1.0] + ([query.counted] if query.counted else [])
    return bool(after) and any(after.endswith(n) or (len(after) >= 2 and n.endswith(after[-2:])) for n in nouns)


def asks_people(text: str) -> bool:
    return bool(re.search(r"(?:多少|几)(?:个|位|名)?人(?![次数民])", text))


def anchored(query: Query, entry: Entry) -> bool:
    """The figure's own words name the thing asked about: a noun of the question, or one of its synonyms.
    A clause of a few characters ("截止到2021年7月12日", "重新完善23项") is read with its sentence."""
    zone = entry.figure.subject + entry.clause + entry.phrase
    if len(_CJK.findall(entry.clause)) < 8:
        zone += entry.sentence
    nouns = [t for t, w in query.terms if w >= 1.0 and not query.inherited] or [t for t, _ in query.terms]
    return any(match(term, zone).meaning >= 0.75 for term in nouns)


def _near_before(ctx: Context, entry: Entry, own: str) -> float:
    """The weight share of the words right before the question's question word ("接待来访群众多少人次") that
    stand right before the figure in its own clause ``own`` ("接待来访群众约800人次", not "值班200人次")."""
    if not ctx.query.near:
        return 0.0
    before = own[:own.find(entry.figure.text)][-NEAR_SPAN:]
    weights = {t: ctx.weight(t, k) for t, k in ctx.query.terms if t in ctx.query.near}
    return sum(w for t, w in weights.items() if match(t, before).meaning >= 0.75) / (sum(weights.values()) or 1.0)


def features(ctx: Context, entry: Entry, *, passage_text: str, section: str, report_year: int,
             row_similarity: float, row_gap: float, passage_similarity: float, passage_score: float,
             passage_rank: int) -> np.ndarray:
    """The feature vector of ``entry`` for the question in ``ctx`` (order of ``FEATURES``)."""
    query, figure = ctx.query, entry.figure
    own = figure.subject + entry.clause + entry.phrase
    clause = coverage(query.terms, own, ctx.weight)
    sentence = coverage(query.terms, entry.sentence, ctx.weight)
    passage = coverage(query.terms, passage_text + section, ctx.weight)
    topic = dict(query.terms)
    nouns = [t for t, w in query.terms if w >= 1.0]
    head = nouns[-1] if nouns else ""
    total = sum(ctx.weight(t, k) for t, k in query.terms) or 1.0
    year_other, year_same = _year(query, report_year, entry)
    before = entry.clause[:entry.clause.find(figure.text)]
    asks_problems = bool(PROBLEMS.search(query.text))
    zoned = _zoned(query, ctx, figure.subject, own, entry.sentence, passage_text + section)
    own_words = own_clause(entry.sentence, figure.start, figure.end)
    values = {
        "clause_exact": clause.exact,
        "clause_head": clause.head,
        "clause_meaning": clause.meaning,
        "own_meaning": coverage(query.terms, figure.subject + own_words, ctx.weight).meaning,
        "sentence_meaning": sentence.meaning,
        "passage_meaning": passage.meaning,
        "anchored": float(anchored(query, entry)),
        "near_before": _near_before(ctx, entry, own_words),
        "counted_head": head_match(head, figure.subject) if head and figure.subject else 0.0,
        "counted_after_match": float(bool(entry.after) and names(query, entry.after, entry)),
        "counted_after_other": float(bool(entry.after) and not names(query, entry.after, entry)),
        "after_head": float(after_head(query, entry.after)),
        "person_times_for_person": float(figure.unit == "人次" and asks_people(query.text)),
        "missing_noun": missing_weight(query.terms, entry.sentence + section, ctx.weight) / total,
        "missing_noun_clause": missing_weight(query.terms, own, ctx.weight) / total,
        "part_missing": float(any(match(t, own).meaning < 0.75 for t in query.within[1]
                                  if topic.get(t, 1.0) >= 1.0)),  # a colloquial verb ("走简易程序的") aside
        "whole_missing": float(any(match(t, entry.sentence).meaning < 0.75 for t in query.within[0])),
        "zoned_exact": zoned[0],
        "zoned_meaning": zoned[1],
        "context_meaning": coverage(query.context, own, ctx.weight).meaning if query.context else 0.0,
        "row_similarity": row_similarity,
        "row_similarity_lead": 1.0 / (1 + ROW_GAP_SCALE * row_gap),
        "passage_similarity": passage_similarity,
        "passage_score": passage_score,
        "passage_rank": 1.0 / (1 + passage_rank),
        "unit_asked": float(bool(query.groups) and figure.group in query.groups),
        "unit_free": float(not query.groups),
        "money_unasked": float(figure.group == "money" and "money" not in query.groups),
        "year_other": year_other,
        "year_same": year_same,
        "predicate": _predicate(query, entry.clause, entry),
        "total_word": float(any(word in before for word in _TOTAL)),
        "first_in_sentence": float(entry.position == 0),
        "problem_section": float(bool(PROBLEMS.search(section)) and not asks_problems),
        "english": float(query.english),
        "inherited": float(query.inherited),
        "no_town": float(not query.towns),
        "place_missing": float(any(place not in entry.sentence for place in query.places)),
        "missing_known": _missing(ctx, entry.sentence + section, known=True),
        "missing_unknown": _missing(ctx, entry.sentence + section, known=False),
    }
    return np.array([values[name] for name in FEATURES], dtype=np.float32)

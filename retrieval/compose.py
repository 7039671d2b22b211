"""Choosing what to answer: the figure that counts what was asked, in the report that was asked about.

A figure qualifies only when its measure word fits the question and its own words cover the question's
topic (``MIN_COVERAGE``); otherwise the answer says nothing was found and shows the closest passage.
A figure from another town or another indicator is never offered in its place.
"""

import re
from dataclasses import dataclass

from retrieval.answer import Answer, Citation, Source
from retrieval.documents import Passage, Report
from retrieval.figures import CLAUSE_BREAKS, Figure
from retrieval.query import Query
from retrieval.search import Hit, Searcher, sentences

MIN_COVERAGE = 0.55
INHERITED_COVERAGE = 0.4  # a follow-up's borrowed topic words fit the new town's wording less closely
EXAMPLE_COVERAGE = 0.4
SOURCES = 5
# How much a topic word counts by where it stands relative to the figure.
ZONES = (("subject", 1.0), ("clause", 0.9), ("sentence", 0.6), ("passage", 0.35))
_PREPOSITIONS = tuple("在对向为于从")
_FIGURE_END = re.compile(r"\d\s*[余多万亿]*[\u4e00-\u9fff]{0,2}$|[%％]$")
_TOTAL = ("全镇", "全乡", "共计", "总计", "合计", "总共", "共有", "累计", "共")  # words before a total


@dataclass(frozen=True)
class Candidate:
    figure: Figure
    sentence: str
    row: int
    coverage: float
    score: float


def clause_span(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Where the clause holding a figure begins and ends; a clause that is nothing but figures
    ("98批次，385人次", a table row's "2023年12件；2024年18件") takes in the clauses before it, up to
    the one that names what is counted."""
    left = max((sentence.rfind(ch, 0, start) for ch in CLAUSE_BREAKS), default=-1) + 1
    rights = [i for i in (sentence.find(ch, end) for ch in CLAUSE_BREAKS) if i >= 0]
    right = min(rights, default=len(sentence))
    while left > 1 and len(_words_only(sentence[left:start] + sentence[end:right])) < 2:
        left = max((sentence.rfind(ch, 0, left - 1) for ch in CLAUSE_BREAKS), default=-1) + 1
    if left > 1 and len(_words_only(sentence[left:start])) <= 3 and _FIGURE_END.search(sentence[:left - 1]):
        # "项目清单145件，已完成142件": a short verb continuing a list of figures shares its subject
        left = max((sentence.rfind(ch, 0, left - 1) for ch in CLAUSE_BREAKS), default=-1) + 1
    return left, right


def _words_only(text: str) -> str:
    """The Chinese of ``text`` without numbers and the measure words after them ("2023年12件；" → "")."""
    numbers = re.sub(r"\d[\d.,%％]*\s*(?:[余多万亿]*[\u4e00-\u9fff]{0,2})", "", text)
    return "".join(re.findall(r"[\u4e00-\u9fff]", numbers))


def clause_around(sentence: str, start: int, end: int) -> str:
    left, right = clause_span(sentence, start, end)
    return sentence[left:right]


def headline(sentence: str, figure: Figure) -> str:
    """The verbatim phrase that carries the figure: its clause up to the figure (or its noun after)."""
    left, _ = clause_span(sentence, figure.start, figure.end)
    text = sentence[left:figure.end]
    for tail in (figure.subject, "的" + figure.subject):  # "750人的平安志愿者"
        if figure.subject and sentence.startswith(tail, figure.end):
            text += tail
            break
    return text.strip("“” 　")[-40:]


def _term_match(term: str, zone: str) -> float:
    if term in zone:
        return 1.0
    for size in range(len(term) - 1, 1, -1):  # 人民调解员 → 调解员: the head noun still counts
        if term[-size:] in zone:
            return 0.5 + 0.5 * size / len(term)
    return 0.0


def coverage(terms: tuple[tuple[str, float], ...], zones: dict[str, str], searcher: Searcher) -> float:
    """Weighted share of the topic terms found near the figure, in [0, 1].

    Rare words weigh more (IDF); a verb the reports never use ("搞") hardly counts, a noun they never use
    ("公务员" in a report without civil servants) counts fully, so its absence means "not found".
    """
    total = found = 0.0
    for term, weight in terms:
        unseen_verb = weight < 1.0 and term not in searcher.bm25
        w = 0.1 if unseen_verb else weight * max(searcher.idf(term), 0.5)
        total += w
        found += w * max(zw * _term_match(term, zones[name]) for name, zw in ZONES)
    return found / total if total else 0.0


def _phrase_around(sentence: str, figure: Figure) -> str:
    """The comma-delimited stretch holding a figure (wider than its clause: 、 does not end it); when it
    opens with no more than a short verb ("已完成142件"), the stretch before it names what is counted."""
    stops = "，,。；;：:！？!?"
    left = max((sentence.rfind(ch, 0, figure.start) for ch in stops), default=-1) + 1
    if left > 1 and len(_words_only(sentence[left:figure.start])) <= 3:
        left = max((sentence.rfind(ch, 0, left - 1) for ch in stops), default=-1) + 1
    rights = [i for i in (sentence.find(ch, figure.end) for ch in stops) if i >= 0]
    return sentence[left:min(rights, default=len(sentence))]


def _predicate(query: Query, clause: str, figure: Figure) -> float:
    """The question's verb right before the figure ("完成了多少件" ~ "已完成142件") says which figure it is."""
    before = clause[:clause.find(figure.text)]
    return 0.3 if any(before.endswith(verb) or before.endswith(verb + "了") for verb in query.verbs) else 0.0


def _anchored(query: Query, zone: str) -> bool:
    """The figure's own clause names the thing asked about: a noun of the question (any of its words
    for a follow-up, whose borrowed wording fits the new report less closely)."""
    nouns = [t for t, w in query.terms if w >= 1.0 and not query.inherited] or [t for t, _ in query.terms]
    return any(_term_match(term, zone) >= 0.75 for term in nouns)


def _fits(query: Query, figure: Figure, sentence: str) -> bool:
    if query.bare and sentence[max(figure.start - 1, 0):figure.start] in _PREPOSITIONS:
        return False  # "在6个村建立…" says where something was done, not how many villages there are
    if query.groups:
        return figure.group in query.groups
    return figure.group not in ("date",)


def _year_fit(query: Query, passage: Passage, searcher: Searcher, clause: str, figure: Figure) -> float:
    """A figure labelled with another year ("2023年12件" in a 2024 report's table) answers another question."""
    years = [int(y) for y in re.findall(r"(20\d\d)\s*年", clause[:clause.find(figure.text)])]
    if not years:
        return 0.0
    wanted = query.year or searcher.corpus.reports[passage.doc_id].year
    return 0.05 if wanted in years else -0.3


def figure_candidates(query: Query, searcher: Searcher, hits: list[Hit]) -> list[Candidate]:
    """Every fitting figure in the passages ``hits``, best first."""
    found = []
    nouns = [term for term, weight in query.terms if weight >= 1.0]
    head = nouns[-1] if nouns else ""
    for hit in hits:
        passage = searcher.corpus.passages[hit.row]
        context = passage.clean + " ".join(passage.section)
        for sentence, figures in searcher.figures(hit.row):
            for figure in figures:
                if not _fits(query, figure, sentence):
                    continue
                clause = clause_around(sentence, figure.start, figure.end)
                if not _anchored(query, figure.subject + clause + _phrase_around(sentence, figure)):
                    continue
                zones = {"subject": figure.subject, "clause": clause, "sentence": sentence, "passage": context}
                cover = coverage(query.terms, zones, searcher)
                extra = coverage(query.context, zones, searcher) if query.context else 0.0
                score = cover + 0.2 * hit.score + 0.1 * extra + _year_fit(query, passage, searcher, clause, figure)
                score += _predicate(query, clause, figure)
                if any(word in clause[:clause.find(figure.text)] for word in _TOTAL):  # "全镇24个村": a total
                    score += 0.05
                if head and head in figure.subject:  # "矫正对象里有几个重点人员": 重点人员 are counted
                    score += 0.1
                if query.kind == "multi":  # a breakdown is asked for: prefer a total that has one
                    parts = sum(f.start > figure.start and f.group == figure.group for f in figures)
                    score += 0.05 * min(parts, 6)
                found.append(Candidate(figure, sentence, hit.row, cover, score))
    return sorted(found, key=lambda c: -c.score)


def _source(searcher: Searcher, row: int, score: float) -> Source:
    passage: Passage = searcher.corpus.passages[row]
    return Source(searcher.corpus.reports[passage.doc_id], passage.section_path, passage.text, score)


def _citation(searcher: Searcher, query: Query, best: Candidate, scores: dict[int, float]) -> Citation:
    extras: tuple[Figure, ...] = ()
    if query.kind == "multi":
        figures = next(found for sentence, found in searcher.figures(best.row) if sentence == best.sentence)
        extras = tuple(f for f in figures if f.start > best.figure.start)
    return Citation(_source(searcher, best.row, scores.get(best.row, 0.0)), best.sentence,
                    headline(best.sentence, best.figure), best.figure, extras)


def _sources(searcher: Searcher, hits: list[Hit], first: list[int]) -> tuple[Source, ...]:
    scores = {h.row: h.score for h in hits}
    order = list(dict.fromkeys([*first, *(h.row for h in hits)]))[:SOURCES]
    return tuple(_source(searcher, row, scores.get(row, 0.0)) for row in order)


def _topic(query: Query) -> str:
    return "、".join(term for term, weight in query.terms if weight >= 1.0) or "、".join(t for t, _ in query.terms)


def best_figure(query: Query, searcher: Searcher, report: Report) -> tuple[Candidate | None, list[Hit]]:
    hits = searcher.rank(query.text, searcher.rows([report]))
    least = INHERITED_COVERAGE if query.inherited else MIN_COVERAGE
    qualified = [c for c in figure_candidates(query, searcher, hits) if c.coverage >= least]
    return (qualified[0] if qualified else None), hits


def best_passage(query: Query, searcher: Searcher, hits: list[Hit], *,
                 whole: int = 240) -> tuple[Hit, str, float] | None:
    """The best passage for an example, the sentences to quote from it, and how well they cover the topic."""
    best: tuple[Hit, str, float] | None = None
    for hit in hits[:5]:
        passage = searcher.corpus.passages[hit.row]
        zones = {"subject": passage.clean, "clause": passage.clean, "sentence": passage.clean,
                 "passage": " ".join(passage.section)}
        cover = coverage(query.terms, zones, searcher)
        if best is None or cover + 0.3 * hit.score > best[2] + 0.3 * best[0].score:
            best = (hit, _quote(passage.text, query, searcher, whole=whole), cover)
    return best


def _quote(text: str, query: Query, searcher: Searcher, *, whole: int = 240) -> str:
    """The passage when short, else its best sentence with a neighbour or two."""
    if len(text) <= whole:
        return text.strip()
    parts = sentences(text)
    scored = [(coverage(query.terms, dict.fromkeys(("subject", "clause", "sentence", "passage"), s), searcher), -i)
              for i, s in enumerate(parts)]
    top = -max(scored)[1]
    end = top + 1
    while end < len(parts) and len("".join(parts[top:end + 1])) <= whole:
        end += 1
    return "".join(parts[top:end]).strip()


def answer_figure(query: Query, searcher: Searcher, reports: list[Report]) -> Answer:
    """A figure (or a figure and its breakdown) from one report, or from every report that has it.

    A question that names no town, or compares towns, gets every report's figure and the towns without one.
    """
    results = [(report, *best_figure(query, searcher, report)) for report in reports]
    found = [(report, cand, hits) for report, cand, hits in results if cand is not None]
    all_hits = sorted((h for _, _, hits in results for h in hits), key=lambda h: -h.score)
    if not found:
        return none_answer(query, searcher, reports, all_hits)
    if len(found) > 1 or query.kind == "compare":
        return compare_figures(query, searcher, reports, found, all_hits)
    report, cand, hits = found[0]
    scores = {h.row: h.score for h in hits}
    citation = _citation(searcher, query, cand, scores)
    return Answer(query.text, "multi" if query.kind == "multi" else "figure", True, report.label,
                  (citation,), (), _sources(searcher, hits, [cand.row]))


def answer_parts(query: Query, searcher: Searcher, reports: list[Report]) -> Answer:
    """Several figures asked at once: each part answered on its own, in the order asked."""
    citations, missing, sources = [], [], []
    for part in query.parts:
        answer = answer_figure(part, searcher, reports)
        if answer.found and answer.kind == "figure":
            citations += [c for c in answer.citations if c not in citations]
        else:
            missing.append(_topic(part))
        sources += answer.sources
    if not citations:
        return none_answer(query, searcher, reports, [])
    label = citations[0].source.report.label
    ranked = tuple(dict.fromkeys(sources))[:SOURCES]
    return Answer(query.text, "multi", True, label, tuple(citations), tuple(missing), ranked)


def compare_figures(query: Query, searcher: Searcher, reports: list[Report],
                    found: list[tuple[Report, Candidate, list[Hit]]], all_hits: list[Hit]) -> Answer:
    scores = {h.row: h.score for h in all_hits}
    if query.most and len({c.figure.group for _, c, _ in found}) == 1:
        found = sorted(found, key=lambda item: -(item[1].figure.value or 0))
    citations = tuple(_citation(searcher, query, cand, scores) for _, cand, _ in found)
    have = {report.doc_id for report, _, _ in found}
    missing = tuple(r.label for r in reports if r.doc_id not in have)
    lead = f"各报告中“{_topic(query)}”的数字"
    return Answer(query.text, "compare", True, lead, citations, missing,
                  _sources(searcher, all_hits, [c.row for _, c, _ in found]))


def answer_example(query: Query, searcher: Searcher, reports: list[Report]) -> Answer:
    hits = searcher.rank(query.text, searcher.rows(reports))
    best = best_passage(query, searcher, hits)
    if best is None or best[2] < EXAMPLE_COVERAGE:
        return none_answer(query, searcher, reports, hits)
    hit, quote, _ = best
    citation = Citation(_source(searcher, hit.row, hit.score), quote)
    report = citation.source.report
    return Answer(query.text, "example", True, report.label, (citation,), (), _sources(searcher, hits, [hit.row]))


def compare_examples(query: Query, searcher: Searcher, reports: list[Report]) -> Answer:
    """Which reports tell of something (no figure asked): the best passage of each that covers it."""
    citations, missing, all_hits = [], [], []
    for report in reports:
        hits = searcher.rank(query.text, searcher.rows([report]))
        all_hits += hits
        best = best_passage(query, searcher, hits, whole=120)
        if best is not None and best[2] >= MIN_COVERAGE:
            citations.append(Citation(_source(searcher, best[0].row, best[0].score), best[1]))
        else:
            missing.append(report.label)
    all_hits.sort(key=lambda h: -h.score)
    if not citations:
        return none_answer(query, searcher, reports, all_hits)
    return Answer(query.text, "compare", True, f"提到“{_topic(query)}”的报告", tuple(citations), tuple(missing),
                  _sources(searcher, all_hits, []))


def none_answer(query: Query, searcher: Searcher, reports: list[Report], hits: list[Hit],
                lead: str = "") -> Answer:
    """Nothing fits: say so plainly and show the closest passage (``citations`` holds it, no figure)."""
    where = "、".join(r.label for r in reports) if len(reports) <= 3 else "现有报告"
    lead = lead or f"{where}中没有找到“{_topic(query) or query.text}”的相关数字或内容。"
    closest = (Citation(_source(searcher, hits[0].row, hits[0].score), _quote(
        searcher.corpus.passages[hits[0].row].text, query, searcher)),) if hits else ()
    return Answer(query.text, "none", False, lead, closest, (), _sources(searcher, hits, []))

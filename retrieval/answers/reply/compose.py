"""Choosing what to answer: the figure that counts what was asked, in the report that was asked about.

Candidates are the figure-ledger rows of the passages ranked best for the question and the rows nearest it
by meaning; a row qualifies only when its measure word fits the question and it is not about a word the
question excludes. The fitted decision (``retrieval.answers.decide.decision``) scores each candidate; a report's best is
answered only above the decision's threshold, otherwise the answer says nothing was found and shows the
closest passage. A figure from another town or another indicator is never offered in its place.
"""

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from retrieval.answers.decide.features import FEATURES, PROBLEMS, Context, anchored, asks_people, features, names
from retrieval.answers.decide.ledger import Entry, Row, headline, sentences, stacked
from retrieval.answers.decide.scope import ScopeConfig, scope
from retrieval.answers.meaning.matching import Match, coverage
from retrieval.answers.question.qualifiers import carried
from retrieval.answers.question.query import Query
from retrieval.answers.reply.answer import Answer, Citation, Source
from retrieval.reports.documents import Passage, Report
from retrieval.reports.figures import Figure
from retrieval.reports.ledger_rows import own_clause
from retrieval.search.hybrid import Hit, Searcher

EXAMPLE_COVERAGE = 0.4
COMPARE_COVERAGE = 0.55
EXAMPLE_PASSAGES = 10  # the best-ranked passages an example is chosen among, by how well each covers the question
EXAMPLE_UNITS = 3  # reports an example question naming no unit quotes, each its best passage
EXAMPLE_SPREAD = 0.15  # how far behind the best passage's score another report's best may be and still be quoted
SOURCES = 5
PASSAGES = 12  # best passages of a report whose figures are candidates
ROWS = 12  # ledger rows of a report nearest the question by meaning, added to the candidates
_PREPOSITIONS = tuple("在对向为于从")
_PER_UNIT = re.compile(r"每|各|平均|人均|单个|一个")  # the question asks each one's figure
_PLANNED = re.compile(r"力争|争取|预计|计划|目标|拟")  # "力争全年培训不少于15场": a plan, not what was done
DEFAULT_SCOPE = ScopeConfig()


@dataclass(frozen=True)
class Candidate:
    """A report's answer: its ledger row and the gate's confidence in it."""

    entry: Entry
    confidence: float

    @property
    def figure(self) -> Figure:
        return self.entry.figure

    @property
    def row(self) -> int:
        return self.entry.row

    @property
    def sentence(self) -> str:
        return self.entry.sentence


Found = tuple[Report, Candidate, list[Hit]]  # a report, its answer, its ranked passages


def term_weight(searcher: Searcher) -> Callable[[str, float], float]:
    """IDF weights of topic words: a verb the reports never use ("搞") hardly counts. Each word is looked up
    once (the features of every candidate ask again)."""
    @functools.cache
    def weight(term: str, kind: float) -> float:
        if kind < 1.0 and term not in searcher.bm25:
            return 0.1
        return kind * max(searcher.idf(term), 0.5)
    return weight


def _fits(query: Query, entry: Entry, section: tuple[str, ...] = ()) -> bool:
    figure = entry.figure
    if figure.group not in query.groups if query.groups else figure.group in ("date", "frequency"):
        return False  # the measure word first: it is the cheapest test, and most figures fail it
    if query.bare and entry.sentence[max(figure.start - 1, 0):figure.start] in _PREPOSITIONS:
        return False  # "在6个村建立…" says where something was done, not how many villages there are
    if query.excluded and any(word in entry.clause for word in query.excluded):
        return False  # "除了主要领导": not the leaders' figure
    if query.terms and not query.english and not anchored(query, entry):
        return False  # the figure's own words must name what was asked (by word, head noun or synonym)
    if entry.after and query.terms and not query.english and "第几" not in query.text \
            and not names(query, entry.after, entry):
        return False  # "19个村…" counts villages, whatever else its clause mentions (not "第几期": 二期农业大棚)
    if query.bare and query.counted and not (entry.after and names(query, entry.after, entry)):
        return False  # "有多少个村": only a figure followed by 村 counts villages
    if query.bare and entry.sentence.startswith(entry.after + "的", figure.end):
        return False  # "11个村委的治安监控接入…" counts the villages that did something, not all of them
    planned = "planned" not in query.qualifiers and bool(_PLANNED.search(entry.clause))
    own = own_clause(entry.sentence, figure.start, figure.end) if "每" in entry.clause or query.qualifiers or \
        planned else ""
    if figure.group != "frequency" and "每" in own[:own.find(figure.text)] and not _PER_UNIT.search(query.text):
        return False  # "每个科室2名以上" is each one's figure, not the total asked for
    if planned and _PLANNED.search(own[:own.find(figure.text)]):
        return False  # a plan answers only a question about plans
    if query.qualifiers and not carried(query.qualifiers, own, entry.sentence + " ".join(section)):
        return False  # "没考过执法证的": a sentence that says nothing of those who did not pass
    return not (figure.unit == "人次" and asks_people(query.text))  # "多少人" is never answered with visits (人次)


def _counting(query: Query, near: list[Row]) -> set[int]:
    """For a bare count ("一共几个村"), the rows of every passage whose figure counts that noun (24个村…): the
    question has no other words to find their passages by."""
    if not (query.bare and query.counted):
        return set()
    return {i for i, row in enumerate(near) if row.entry.after and names(query, row.entry.after, row.entry)}


def candidate_features(query: Query, searcher: Searcher, hits: list[Hit],
                       report: Report | None = None) -> tuple[list[Entry], np.ndarray]:
    """Every fitting ledger row of the best passages ``hits`` and the rows of the other passages nearest the
    question by meaning, with their features (one row of ``FEATURES`` each); ``report``: all ``hits`` are its
    passages (its ledger is read once, not per passage)."""
    if report is not None:
        by_row = searcher.ledger.report(report.doc_id)
        near = [row for h in hits for row in by_row.get(h.row, ())]
    else:
        near = [row for h in hits for row in searcher.ledger.at(h.row)]
    if not near:
        return [], np.zeros((0, len(FEATURES)), np.float32)
    scores = {h.row: (rank, h.score) for rank, h in enumerate(hits)}
    similarity = stacked(near) @ searcher.query_vector(query.search).astype(np.float32)
    order = np.argsort(-similarity, kind="stable")
    top = {h.row for h in hits[:PASSAGES]}
    chosen = sorted({i for i, row in enumerate(near) if row.entry.row in top} | {int(i) for i in order[:ROWS]}
                    | _counting(query, near))
    rows = np.array(sorted({near[i].entry.row for i in chosen}), dtype=np.int64)
    dense = dict(zip(rows.tolist(), searcher.passage_similarity(query.search, rows).tolist(), strict=True))
    ctx = Context(query, term_weight(searcher), functools.cache(searcher.bm25.__contains__))
    entries, matrix = [], []
    for i in chosen:
        entry = near[i].entry
        passage = searcher.corpus.passages[entry.row] if query.qualifiers else None  # read only when needed
        if not _fits(query, entry, passage.section if passage else ()):
            continue
        passage = passage or searcher.corpus.passages[entry.row]
        rank, score = scores[entry.row]
        matrix.append(features(ctx, entry, passage_text=passage.clean, section=" ".join(passage.section),
                               report_year=searcher.corpus.reports[passage.doc_id].year,
                               row_similarity=float(similarity[i]),
                               row_gap=float(similarity[order[0]] - similarity[i]),
                               passage_similarity=dense[entry.row], passage_score=score, passage_rank=rank))
        entries.append(entry)
    return entries, (np.stack(matrix) if matrix else np.zeros((0, len(FEATURES)), np.float32))


def _source(searcher: Searcher, row: int, score: float) -> Source:
    passage: Passage = searcher.corpus.passages[row]
    return Source(searcher.corpus.reports[passage.doc_id], passage.section_path, passage.text, score)


def _citation(searcher: Searcher, query: Query, best: Candidate, scores: dict[int, float]) -> Citation:
    extras: tuple[Figure, ...] = ()
    if query.kind == "multi":
        same = [row.entry for row in searcher.ledger.at(best.row)]
        extras = tuple(e.figure for e in same if e.sentence == best.sentence and e.figure.start > best.figure.start)
    return Citation(_source(searcher, best.row, scores.get(best.row, 0.0)), best.sentence,
                    headline(best.sentence, best.figure, best.entry.after), best.figure, extras)


def _sources(searcher: Searcher, hits: list[Hit], first: list[int]) -> tuple[Source, ...]:
    scores = {h.row: h.score for h in hits}
    order = list(dict.fromkeys([*first, *(h.row for h in hits)]))[:SOURCES]
    return tuple(_source(searcher, row, scores.get(row, 0.0)) for row in order)


def _topic(query: Query) -> str:
    return "、".join(term for term, weight in query.terms if weight >= 1.0) or "、".join(t for t, _ in query.terms)


def best_figure(query: Query, searcher: Searcher, report: Report,
                hits: list[Hit] | None = None) -> tuple[Candidate | None, list[Hit]]:
    """The report's best candidate when the decision answers it, and the report's ranked passages (``hits``:
    ranked already)."""
    hits = searcher.rank(query.search, searcher.rows([report])) if hits is None else hits
    entries, matrix = candidate_features(query, searcher, hits, report)
    best, confidence = searcher.decision.confidence(matrix, [e.figure.text for e in entries])
    if best < 0 or confidence < searcher.decision.threshold:
        return None, hits
    return Candidate(entries[best], confidence), hits


def _cover(query: Query, searcher: Searcher, text: str) -> Match:
    return coverage(query.terms, text, term_weight(searcher))


def _example_scores(query: Query, searcher: Searcher, hits: list[Hit]) -> list[tuple[float, Hit, float]]:
    """(score, hit, coverage) of the best-ranked passages for an example, best first: how well each covers the
    question, its rank score, and a practice or result preferred to a section on shortcomings or next year's
    plans, unless those are what the question asks about."""
    asks_problems = bool(PROBLEMS.search(query.text))
    scored = []
    for hit in hits[:EXAMPLE_PASSAGES]:
        passage = searcher.corpus.passages[hit.row]
        cover = _cover(query, searcher, passage.clean + " ".join(passage.section)).meaning
        score = cover + 0.3 * hit.score
        if not asks_problems and PROBLEMS.search(passage.section_path):
            score -= 0.25
        scored.append((score, hit, cover))
    return sorted(scored, key=lambda item: -item[0])


def best_passage(query: Query, searcher: Searcher, hits: list[Hit], *,
                 whole: int = 240) -> tuple[Hit, str, float] | None:
    """The best passage for an example, the sentences to quote from it, and how well they cover the topic."""
    scored = _example_scores(query, searcher, hits)
    if not scored:
        return None
    _, hit, cover = scored[0]
    return hit, _quote(searcher.corpus.passages[hit.row].text, query, searcher, whole=whole), cover


def _quote(text: str, query: Query, searcher: Searcher, *, whole: int = 240) -> str:
    """The passage when short, else its best sentence with a neighbour or two."""
    if len(text) <= whole:
        return text.strip()
    parts = sentences(text)
    scored = [(_cover(query, searcher, s).meaning, -i) for i, s in enumerate(parts)]
    top = -max(scored)[1]
    end = top + 1
    while end < len(parts) and len("".join(parts[top:end + 1])) <= whole:
        end += 1
    return "".join(parts[top:end]).strip()


def answer_figure(query: Query, searcher: Searcher, reports: list[Report],
                  config: ScopeConfig = DEFAULT_SCOPE) -> Answer:
    """A figure (or a figure and its breakdown) from one report, or from every report that has it.

    A question that names no town, or compares towns, gets every report's figure and the towns without one;
    over many reports, only the reports its candidates fall in are decided (``retrieval.answers.decide.scope``).
    """
    where = scope(query, searcher, reports, config,
                  lambda row: any(_fits(query, r.entry, searcher.corpus.passages[row].section if query.qualifiers
                                        else ()) for r in searcher.ledger.at(row)))
    ranked = searcher.rank_each(query.search, where.decide)
    results = [(report, *best_figure(query, searcher, report, ranked[report.doc_id])) for report in where.decide]
    found = [(report, cand, hits) for report, cand, hits in results if cand is not None]
    all_hits = sorted((h for _, _, hits in results for h in hits), key=lambda h: -h.score)
    if not found:
        return none_answer(query, searcher, reports, where.hits or all_hits)  # the corpus's best, when grouped
    if len(found) > 1 or query.kind == "compare":
        return compare_figures(query, searcher, reports, found, all_hits, top=config.top)
    report, cand, hits = found[0]
    scores = {h.row: h.score for h in hits}
    citation = _citation(searcher, query, cand, scores)
    return Answer(query.text, "multi" if query.kind == "multi" else "figure", True, report.label,
                  (citation,), (), _sources(searcher, hits, [cand.row]))


def answer_parts(query: Query, searcher: Searcher, reports: list[Report],
                 config: ScopeConfig = DEFAULT_SCOPE) -> Answer:
    """Several figures asked at once: each part answered on its own, in the order asked."""
    citations, missing, sources, first = [], [], [], None
    for part in query.parts:
        answer = answer_figure(part, searcher, reports, config)
        first = first or answer
        if answer.found and answer.kind == "figure":
            citations += [c for c in answer.citations if c not in citations]
        else:
            missing.append(_topic(part))
        sources += answer.sources
    if not citations:  # the first part's "not found", with the passage closest to it
        return replace(first, question=query.text) if first else none_answer(query, searcher, reports, [])
    label = citations[0].source.report.label
    ranked = tuple(dict.fromkeys(sources))[:SOURCES]
    return Answer(query.text, "multi", True, label, tuple(citations), tuple(missing), ranked)


def _top(query: Query, found: list[Found], top: int) -> tuple[list[Found], list[Found]]:
    """(the ``top`` to show, the rest), each in the order shown: by value when the most or least is asked
    (one kind of measure word), else in report order, the ``top`` most confident kept."""
    by_value = query.most and len({c.figure.group for _, c, _ in found}) == 1
    if by_value:
        found = sorted(found, key=lambda item: (item[1].figure.value or 0) * (1 if query.least else -1))
    if len(found) <= top:
        return found, []
    if by_value:
        return found[:top], found[top:]
    keep = {id(item) for item in sorted(found, key=lambda item: -item[1].confidence)[:top]}
    return [f for f in found if id(f) in keep], [f for f in found if id(f) not in keep]


def _labels_without(searcher: Searcher, reports: list[Report], have: set[str]) -> tuple[str, ...]:
    """The labels of ``reports`` (in order) except those of ``have``; of every report, a few slices of one
    cached tuple (a question over thousands of units lists them all for its CSV)."""
    labels, place = searcher.labels
    if len(reports) != len(labels):
        return tuple(labels[place[r.doc_id]] for r in reports if r.doc_id not in have)
    cuts = sorted(place[doc_id] for doc_id in have)
    parts = [labels[start + 1:end] for start, end in itertools.pairwise([-1, *cuts, len(labels)])]
    return tuple(itertools.chain.from_iterable(parts))


def compare_figures(query: Query, searcher: Searcher, reports: list[Report], found: list[Found],
                    all_hits: list[Hit], *, top: int = DEFAULT_SCOPE.top) -> Answer:
    """Each report's figure, the ``top`` shown and the rest in ``more``; the reports without one in ``missing``."""
    scores = {h.row: h.score for h in all_hits}
    shown, rest = _top(query, found, top)
    have = {report.doc_id for report, _, _ in found}
    missing = _labels_without(searcher, reports, have)
    lead = f"各报告中“{_topic(query)}”的数字"
    return Answer(query.text, "compare", True, lead, tuple(_citation(searcher, query, c, scores) for _, c, _ in shown),
                  missing, _sources(searcher, all_hits, [c.row for _, c, _ in shown]),
                  more=tuple(_citation(searcher, query, c, scores) for _, c, _ in rest), units=searcher.units(reports))


def answer_example(query: Query, searcher: Searcher, reports: list[Report],
                   config: ScopeConfig = DEFAULT_SCOPE) -> Answer:
    """A practice or case: the best passage; for a question naming no unit ("有没有镇搞…的做法"), the best
    passage of each of up to ``EXAMPLE_UNITS`` reports whose best is nearly as good."""
    where = scope(query, searcher, reports, config)
    hits = where.hits if where.grouped else searcher.rank(query.search, searcher.rows(reports))
    scored = [item for item in _example_scores(query, searcher, hits) if item[2] >= EXAMPLE_COVERAGE]
    if not scored:
        return none_answer(query, searcher, reports, hits)
    units = EXAMPLE_UNITS if not query.towns and len(reports) > 1 else 1
    chosen: dict[str, Hit] = {}
    for score, hit, _ in scored:
        doc_id = searcher.corpus.passages[hit.row].doc_id
        if len(chosen) < units and doc_id not in chosen and score >= scored[0][0] - EXAMPLE_SPREAD:
            chosen[doc_id] = hit
    citations = tuple(Citation(_source(searcher, hit.row, hit.score),
                               _quote(searcher.corpus.passages[hit.row].text, query, searcher))
                      for hit in chosen.values())
    return Answer(query.text, "example", True, citations[0].source.report.label, citations, (),
                  _sources(searcher, hits, [hit.row for hit in chosen.values()]))


def compare_examples(query: Query, searcher: Searcher, reports: list[Report],
                     config: ScopeConfig = DEFAULT_SCOPE) -> Answer:
    """Which reports tell of something (no figure asked): the best passage of each that covers it (over many
    reports, of each report its candidates fall in; the ``top`` best covered shown, the rest in ``more``)."""
    where = scope(query, searcher, reports, config)
    quoted: list[tuple[float, Citation]] = []
    all_hits: list[Hit] = []
    for report in where.decide:
        hits = searcher.rank(query.search, searcher.rows([report]))
        all_hits += hits
        best = best_passage(query, searcher, hits, whole=120)
        if best is not None and best[2] >= COMPARE_COVERAGE:
            quoted.append((best[2], Citation(_source(searcher, best[0].row, best[0].score), best[1])))
    all_hits.sort(key=lambda h: -h.score)
    if not quoted:
        return none_answer(query, searcher, reports, where.hits or all_hits)
    keep = {id(c) for _, c in sorted(quoted, key=lambda item: -item[0])[:config.top]}
    missing = _labels_without(searcher, reports, {c.source.report.doc_id for _, c in quoted})
    return Answer(query.text, "compare", True, f"提到“{_topic(query)}”的报告",
                  tuple(c for _, c in quoted if id(c) in keep), missing, _sources(searcher, all_hits, []),
                  more=tuple(c for _, c in quoted if id(c) not in keep), units=searcher.units(reports))


def none_answer(query: Query, searcher: Searcher, reports: list[Report], hits: list[Hit],
                lead: str = "") -> Answer:
    """Nothing fits: say so plainly and show the closest passage (``citations`` holds it, no figure)."""
    where = "、".join(r.label for r in reports) if len(reports) <= 3 else "现有报告"
    lead = lead or f"{where}中没有找到“{_topic(query) or query.text}”的相关数字或内容。"
    closest = (Citation(_source(searcher, hits[0].row, hits[0].score), _quote(
        searcher.corpus.passages[hits[0].row].text, query, searcher)),) if hits else ()
    return Answer(query.text, "none", False, lead, closest, (), _sources(searcher, hits, []))


def answer_report_dates(query: Query, searcher: Searcher, reports: list[Report],
                        config: ScopeConfig = DEFAULT_SCOPE) -> Answer:
    """When each report was signed: the date under its signature, and the reports that carry none (the first
    ``config.top`` shown, the rest in ``more`` for the full table)."""
    dated = [r for r in reports if r.date]
    missing = tuple(r.label for r in reports if not r.date)
    if not dated:
        lead = f"{'、'.join(missing) if len(missing) <= 3 else '这些报告'}没有落款日期，不用其他日期代替。"
        return Answer(query.text, "none", False, lead, missing=missing)
    citations = tuple(_signed(r) for r in dated)
    kind = "compare" if len(reports) > 1 else "figure"
    lead = "各报告的落款日期" if kind == "compare" else dated[0].label
    shown = citations[:config.top]
    return Answer(query.text, kind, True, lead, shown, missing if kind == "compare" else (),
                  tuple(c.source for c in shown[:SOURCES]), more=citations[config.top:])


def _signed(report: Report) -> Citation:
    year, month, day = (int(part) for part in (report.date or "").split("-"))
    text = f"{year}年{month}月{day}日"  # as the signature writes it (parsed by ``retrieval.reports.documents``)
    figure = Figure(text, None, "日期", None, "落款日期", 0, len(text), kind="date")
    return Citation(Source(report, "落款", text, 1.0), text, text, figure)

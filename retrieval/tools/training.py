"""``fazhi train``: labelled questions → candidate features → the fitted decision, with leave-one-report-out.

Each question is read as the engine reads it (its conversation included) and its candidates are gathered
from the reports it is about, exactly as when answering. A candidate is right when it is the question's
expected figure in the expected report; a question of kind ``none`` has no right candidate.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from retrieval.answers.decide.decision import Decision, Example, fit, outcome
from retrieval.answers.reply import compose
from retrieval.engine import Engine, select_reports
from retrieval.tools.evaluate import figure_matches

TRAINED_KINDS = ("figure", "multi", "none", "followup")


def _expected(gold: dict[str, Any]) -> list[str]:
    return list(gold.get("figures") or [])[:1]


def examples(engine: Engine, golds: Iterable[dict[str, Any]]) -> list[Example]:
    """One example per question and report it is about (a question naming no town: every report)."""
    searcher = engine.searcher
    out = []
    for gold in golds:
        if gold["kind"] not in TRAINED_KINDS:
            continue
        expected = _expected(gold)
        answerable = bool(expected) and gold["kind"] != "none"
        if gold["kind"] == "followup" and not expected and gold.get("evidence"):
            continue  # a follow-up asking for a practice: not a figure decision
        query = engine.understand(gold["question"], gold.get("context") or ())
        if (query.kind in ("example", "compare") and not query.quantity) or query.report_date:
            continue  # a practice, or the date under the signature: not a figure decision
        for part in (query.parts or (query,))[:1]:
            part = replace(part, kind="figure") if query.parts else part
            reports = select_reports(part, searcher)
            for report in reports:
                hits = searcher.rank(part.text, searcher.rows([report]))
                entries, rows = compose.candidate_features(part, searcher, hits)
                mine = answerable and report.town == gold["town"]
                right = np.array([mine and any(figure_matches(e, entry.figure.text) for e in expected)
                                  for entry in entries], dtype=bool)
                out.append(Example(report.source, rows, right, mine, gold["id"],
                                   tuple(e.figure.text for e in entries), 1.0 / len(reports)))
    return out


def leave_one_report_out(items: Sequence[Example]) -> dict[str, Counter[str]]:
    """Outcomes per report, each fitted without that report's questions."""
    by_group: dict[str, list[Example]] = defaultdict(list)
    for item in items:
        by_group[item.group].append(item)
    results: dict[str, Counter[str]] = {}
    for group, held in sorted(by_group.items()):
        rest = [e for e in items if e.group != group]
        decision = fit(rest)
        results[group] = Counter(outcome(decision, e) for e in held)
    return results


def summary(decision: Decision, items: Sequence[Example], loro: dict[str, Counter[str]]) -> list[str]:
    lines = [f"训练样本：{len(items)} 个问题×报告，{sum(len(e.rows) for e in items)} 个候选数字；"
             f"阈值 {decision.threshold:.3f}"]
    fitted = Counter(outcome(decision, e) for e in items)
    lines.append("在训练集上：" + _counts(fitted))
    lines.append("留一报告（每份报告的问题用不含它的模型）：")
    total: Counter[str] = Counter()
    for group, counts in loro.items():
        total.update(counts)
        lines.append(f"  {group:<28}{_counts(counts)}")
    lines.append("  合计" + " " * 24 + _counts(total))
    return lines


def _counts(counts: Counter[str]) -> str:
    n = sum(counts.values()) or 1
    good = counts["right"] + counts["refused"]
    return (f"正确 {good}/{n}（{good / n:.0%}）：答对 {counts['right']}，正确拒答 {counts['refused']}，"
            f"漏答 {counts['missed']}，答错 {counts['wrong']}")

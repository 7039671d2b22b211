"""Scoring answers against gold questions, by the rules of the gold set's README.

- figure: the first figure is the expected one (or its leading part, "19个" for "19个村"; a dropped qualifier
  does not match) and belongs to the expected town;
- multi, compare: every expected figure is in the answer text and no other town's figure is given as this
  town's; a compare without figures is scored as an example;
- example: the answer quotes at least one evidence string and names its town;
- none: ``found`` is false and no figure is given;
- followup: scored as its own kind, after its context questions.
Whitespace is ignored when comparing figures.
"""

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@dataclass
class Report:
    """Accuracy per kind and retrieval recall over a run."""

    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    correct: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    recall_at: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    with_evidence: int = 0
    none_with_figures: int = 0  # figures printed for questions the reports cannot answer (invented)
    failures: list[str] = field(default_factory=list)

    def add(self, gold: dict[str, Any], answer: dict[str, Any]) -> bool:
        kind = gold["kind"]
        ok = score(gold, answer)
        self.total[kind] += 1
        self.correct[kind] += ok
        if not ok:
            self.failures.append(gold["id"])
        if _kind(gold) == "none" and answer["figures"]:
            self.none_with_figures += 1
        if gold.get("evidence"):
            self.with_evidence += 1
            for k in (1, 3):
                passages = [_squash(s["passage"]) for s in answer["sources"][:k]]
                self.recall_at[k] += any(_squash(e) in p for e in gold["evidence"] for p in passages)
        return ok

    def to_json(self) -> dict[str, Any]:
        n = sum(self.total.values())
        return {
            "accuracy": sum(self.correct.values()) / n if n else 0.0,
            "correct": sum(self.correct.values()),
            "total": n,
            "by_kind": {k: {"correct": self.correct[k], "total": t} for k, t in sorted(self.total.items())},
            "recall_at_1": self.recall_at[1] / self.with_evidence if self.with_evidence else 0.0,
            "recall_at_3": self.recall_at[3] / self.with_evidence if self.with_evidence else 0.0,
            "none_with_figures": self.none_with_figures,
            "failures": self.failures,
        }


def _kind(gold: dict[str, Any]) -> str:
    if gold["kind"] != "followup":
        return str(gold["kind"])
    if gold["figures"]:
        return "figure" if len(gold["figures"]) == 1 else "multi"
    return "example" if gold.get("evidence") and gold.get("doc") else "none"


def figure_matches(expected: str, got: str) -> bool:
    """Equal, or ``got`` is the number and measure word of an expected text that adds the counted noun."""
    expected, got = _squash(expected), _squash(got)
    if expected == got:
        return True
    rest = expected[len(got):]
    return (expected.startswith(got) and bool(re.search(r"\d[^\d.%]+$|[十百千万]\D+$", got))
            and bool(rest) and not re.match(r"[\d.余多]", rest))


def score(gold: dict[str, Any], answer: dict[str, Any]) -> bool:
    """Whether ``answer`` (the JSON of one answer) is right for ``gold`` (one gold question)."""
    kind = _kind(gold)
    figures = answer["figures"]
    text = _squash(answer["answer"])
    towns = _towns(gold)
    if kind == "none":
        return not answer["found"] and not figures
    if kind == "compare" and not gold["figures"]:
        kind = "example"
    if kind == "figure":
        return bool(figures) and figure_matches(gold["figures"][0], figures[0]["text"]) and (
            not towns or figures[0]["town"] in towns)
    if kind in ("multi", "compare"):
        if not all(_squash(f) in text for f in gold["figures"]):
            return False
        return not towns or all(f["town"] in towns for f in figures[:1])
    quoted = any(_squash(e) in text for e in gold["evidence"])
    towns = towns or [s["town"] for s in answer["sources"]]
    return answer["found"] and quoted and any(t in answer["answer"] for t in towns)


def _towns(gold: dict[str, Any]) -> list[str]:
    """The gold answer's towns: one, several (a comparison lists them) or none given."""
    town = gold.get("town")
    return list(town) if isinstance(town, list) else ([town] if town else [])


def read_gold(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def summary_lines(report: Report) -> Iterable[str]:
    data = report.to_json()
    yield f"准确率：{data['correct']}/{data['total']}（{data['accuracy']:.1%}）"
    for kind, row in data["by_kind"].items():
        yield f"  {kind:<9}{row['correct']}/{row['total']}"
    yield f"none 题给出的数字：{data['none_with_figures']}"
    yield f"检索召回：recall@1 {data['recall_at_1']:.1%}，recall@3 {data['recall_at_3']:.1%}"
    if data["failures"]:
        yield "未通过：" + "、".join(data["failures"])

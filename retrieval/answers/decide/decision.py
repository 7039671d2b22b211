"""The fitted decision: which candidate figure answers a question, and whether any does.

A linear ranker over ``retrieval.answers.decide.features.FEATURES``, fitted on pairs of candidates (the right one
against its rivals in the same report), gives each candidate the probability that it is the answer; a logistic
gate over the best one's score, its lead and the features that say whether the question is fully met decides
whether it is said: the best candidate of a report is answered only when that probability reaches ``threshold``, which
``fazhi train`` sets where an invented figure costs most (``INVENTED_COST``). The weights
ship as ``retrieval/data/decision.json``; answering needs numpy only (scikit-learn is imported to fit).
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from importlib.resources import files
from pathlib import Path

import numpy as np

from retrieval.answers.decide.features import FEATURES

MARGIN = 0.02  # a threshold sits this far above the confidence it must exclude
# An invented figure (for a question the reports cannot answer) is the worst outcome: it costs as much as
# this many answers not given; a wrong figure for an answerable question costs a little less.
INVENTED_COST = 6.0
BAGS = 15
WRONG_COST = 4.0
# What the gate sees of a report's best candidate: the ranker's score, its lead over the runner-up, and the
# features that say whether the question is fully met.
GATE = ("score", "lead", "clause_meaning", "sentence_meaning", "missing_noun", "missing_noun_clause", "part_missing",
        "whole_missing", "zoned_exact",
        "zoned_meaning", "counted_after_match", "row_similarity", "passage_similarity", "unit_asked", "english",
        "inherited", "no_town", "place_missing", "missing_known", "missing_unknown")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class Decision:
    """A ranker (which candidate) and a gate (is the best one the answer), both logistic."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    gate_weights: tuple[float, ...]
    gate_bias: float
    threshold: float
    trained_on: int = 0  # questions

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """The ranker's score of each row of a candidates × FEATURES matrix."""
        if rows.size == 0:
            return np.zeros(0, np.float32)
        return _sigmoid(rows @ np.asarray(self.weights, dtype=np.float32) + self.bias)

    def confidence(self, rows: np.ndarray, texts: Sequence[str] | None = None) -> tuple[int, float]:
        """(index of the best candidate, P(it is the answer)); (-1, 0) without candidates. ``texts`` are the
        candidates' figures as printed: one figure found in two places is not its own rival."""
        if rows.size == 0:
            return -1, 0.0
        scores = self.probability(rows)
        best = int(np.argmax(scores))
        same = np.array([t == texts[best] for t in texts]) if texts is not None else None
        z = gate_row(rows, scores, best, same) @ np.asarray(self.gate_weights, dtype=np.float32) + self.gate_bias
        return best, float(_sigmoid(np.array(z)))

    @classmethod
    def untrained(cls) -> "Decision":
        """A decision that answers nothing: what ``fazhi train`` starts from."""
        return cls(FEATURES, (0.0,) * len(FEATURES), 0.0, (0.0,) * len(GATE), 0.0, 1.0)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | None = None) -> "Decision":
        text = path.read_text(encoding="utf-8") if path else files("retrieval").joinpath(
            "data/decision.json").read_text(encoding="utf-8")
        data = json.loads(text)
        decision = cls(tuple(data["features"]), tuple(data["weights"]), data["bias"], tuple(data["gate_weights"]),
                       data["gate_bias"], data["threshold"], data.get("trained_on", 0))
        if decision.features != FEATURES or len(decision.gate_weights) != len(GATE):
            raise ValueError("decision.json was fitted on other features: run `fazhi train`")
        return decision


def gate_row(rows: np.ndarray, scores: np.ndarray, best: int, same: np.ndarray | None = None) -> np.ndarray:
    """The gate's inputs for candidate ``best``; ``same`` marks the candidates that print the same figure
    (the runner-up is the best candidate that says something else)."""
    others = scores[~same] if same is not None else np.delete(scores, best)
    lead = float(scores[best] - others.max()) if len(others) else float(scores[best])
    picked = {name: float(rows[best, FEATURES.index(name)]) for name in GATE if name in FEATURES}
    picked.update(score=float(scores[best]), lead=lead)
    return np.array([picked[name] for name in GATE], dtype=np.float32)


@dataclass(frozen=True)
class Example:
    """The candidates of one training question in one report: features and which are right."""

    group: str  # the report (for leave-one-report-out)
    rows: np.ndarray  # candidates × FEATURES
    right: np.ndarray  # bool per candidate
    answerable: bool  # the report holds the answer
    question: str = ""  # the gold question's id
    texts: tuple[str, ...] = ()  # each candidate's figure as printed
    weight: float = 1.0  # a question about several reports counts once in all


def fit(examples: Sequence[Example], *, c: float = 0.1, bags: int = BAGS, seed: int = 0) -> Decision:
    """Fit the ranker on pairs of candidates (``_ranker``) and the gate on each example's best, each as the average of
    ``bags`` logistic models on bootstrap samples of the questions (steadier than one fit on a few hundred
    questions), then the gate's threshold on all of them."""
    usable = [e for e in examples if len(e.rows)]
    rng = np.random.default_rng(seed)
    questions = sorted({e.question for e in usable})
    samples = [rng.choice(len(questions), len(questions)) for _ in range(bags)] if bags > 1 else [
        np.arange(len(questions))]
    by_question = {q: i for i, q in enumerate(questions)}

    def bag(sample: np.ndarray) -> list[Example]:
        counts = np.bincount(sample, minlength=len(questions))
        return [replace(e, weight=e.weight * counts[by_question[e.question]]) for e in usable
                if counts[by_question[e.question]]]

    bagged = [bag(sample) for sample in samples]
    ranks = [_ranker(part, c) for part in bagged]
    weights, bias = np.mean([w for w, _ in ranks], axis=0), float(np.mean([b for _, b in ranks]))
    draft = Decision(FEATURES, tuple(map(float, weights)), bias, (0.0,) * len(GATE), 0.0, 0.5, len(examples))
    gates = []
    for part in bagged:
        rows, labels = zip(*(_gate_example(draft, e) for e in part), strict=True)
        if len(set(labels)) < 2:
            raise ValueError("the training questions need both answerable and unanswerable ones")
        gates.append(_logistic(np.stack(rows), np.array(labels), np.array([e.weight for e in part]), c))
    fitted = replace(draft, gate_weights=tuple(map(float, np.mean([w for w, _ in gates], axis=0))),
                     gate_bias=float(np.mean([b for _, b in gates])))
    return replace(fitted, threshold=choose_threshold(fitted, usable))


def _ranker(examples: Sequence[Example], c: float) -> tuple[np.ndarray, float]:
    """The ranker's weights, fitted on pairs: within one question, each right candidate against each wrong
    one, so that it learns what sets the answer apart from its rivals in the same report rather than what
    answers look like in general (each question weighs the same, however many pairs it has). The pairwise
    score is then scaled to a probability on every candidate (one-feature logistic, Platt's method)."""
    pairs, weights = [], []
    for e in examples:
        if e.answerable and e.right.any() and not e.right.all():
            diff = (e.rows[e.right][:, None, :] - e.rows[~e.right][None, :, :]).reshape(-1, e.rows.shape[1])
            pairs.append(diff)
            weights.append(np.full(len(diff), e.weight / len(diff)))
    if not pairs:
        raise ValueError("the training questions need answerable ones with a wrong candidate beside the right")
    x, w = np.concatenate(pairs), np.concatenate(weights)
    direction, _ = _logistic(np.concatenate([x, -x]), np.r_[np.ones(len(x)), np.zeros(len(x))], np.r_[w, w], c,
                             intercept=False)
    scores = np.concatenate([e.rows @ direction for e in examples])
    scale, bias = _logistic(scores[:, None], np.concatenate([e.right for e in examples]),
                            np.concatenate([np.full(len(e.rows), e.weight) for e in examples]), 100.0)
    return direction * scale[0], bias


def _logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, c: float,
              intercept: bool = True) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, fit_intercept=intercept)
    model.fit(x, y, sample_weight=weight)
    return model.coef_[0], float(np.atleast_1d(model.intercept_)[0])


def _gate_example(draft: Decision, e: Example) -> tuple[np.ndarray, bool]:
    scores = draft.probability(e.rows)
    best = int(np.argmax(scores))
    return gate_row(e.rows, scores, best, np.array([t == e.texts[best] for t in e.texts])), bool(
        e.answerable and e.right[best])


def choose_threshold(decision: Decision, examples: Sequence[Example]) -> float:
    """The gate's threshold with the fewest costly outcomes on ``examples``: a missed answer costs 1, a wrong
    figure for an answerable question ``WRONG_COST``, a figure for a question the reports cannot answer
    ``INVENTED_COST``. Ties go to the higher (safer) threshold."""
    outcomes = []
    for e in examples:
        best, confidence = decision.confidence(e.rows, e.texts)
        outcomes.append((confidence, e.answerable and bool(e.right[best]), e.answerable, e.weight))
    best_cost, best_t = float("inf"), 0.999
    for t in sorted({round(c + MARGIN, 4) for c, *_ in outcomes} | {0.999}, reverse=True):
        cost = 0.0
        for confidence, right, answerable, weight in outcomes:
            said = confidence >= t
            if not said:
                cost += weight if right else 0.0
            elif not right:
                cost += weight * (INVENTED_COST if not answerable else WRONG_COST)
        if cost < best_cost:
            best_cost, best_t = cost, t
    return min(best_t, 0.999)


def outcome(decision: Decision, example: Example) -> str:
    """'right', 'wrong' (a figure that is not the answer), 'missed' (nothing said, though answerable) or
    'refused' (nothing said, correctly)."""
    best, confidence = decision.confidence(example.rows, example.texts)
    if best < 0 or confidence < decision.threshold:
        return "missed" if example.answerable else "refused"
    return "right" if example.answerable and example.right[best] else "wrong"

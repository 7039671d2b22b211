"""The fitted decision: the shipped weights load, a saved decision reads back the same, and a refit on a
small synthetic set learns to answer what is answerable and to refuse the rest."""

from pathlib import Path

import numpy as np
import pytest

from retrieval.answers.decide.decision import GATE, Decision, Example, fit, outcome
from retrieval.answers.decide.features import FEATURES

# What tells a right candidate from a wrong one in the synthetic set: its clause has the question's words.
SIGNAL = ("clause_exact", "clause_head", "clause_meaning", "sentence_meaning", "row_similarity")


def _candidates(rng: np.random.Generator, n: int, right: int | None) -> np.ndarray:
    """``n`` candidates with weak noise; candidate ``right`` (if any) meets the question fully."""
    rows = rng.uniform(0.0, 0.2, size=(n, len(FEATURES))).astype(np.float32)
    if right is not None:
        for name in SIGNAL:
            rows[right, FEATURES.index(name)] = rng.uniform(0.85, 1.0)
    return rows


def _examples(seed: int = 7) -> list[Example]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(60):
        answerable = i % 2 == 0
        n = 4
        right = int(rng.integers(n)) if answerable else None
        rows = _candidates(rng, n, right)
        marks = np.array([j == right for j in range(n)], dtype=bool)
        out.append(Example(f"report-{i % 5}", rows, marks, answerable, f"q{i}", tuple(f"{i}-{j}件" for j in range(n))))
    return out


def test_shipped_weights_load() -> None:
    decision = Decision.load()
    assert decision.features == FEATURES and len(decision.weights) == len(FEATURES)
    assert len(decision.gate_weights) == len(GATE) and 0.0 < decision.threshold < 1.0
    assert decision.trained_on >= 300


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    decision = fit(_examples())
    path = tmp_path / "decision.json"
    decision.save(path)
    assert Decision.load(path) == decision
    assert "features" in path.read_text(encoding="utf-8")


def test_load_refuses_weights_of_other_features(tmp_path: Path) -> None:
    path = tmp_path / "decision.json"
    Decision(("clause_exact",), (1.0,), 0.0, (0.0,) * len(GATE), 0.0, 0.5).save(path)
    with pytest.raises(ValueError, match="fazhi train"):
        Decision.load(path)


def test_refit_answers_the_answerable_and_refuses_the_rest() -> None:
    train, held = _examples(seed=7), _examples(seed=11)
    decision = fit(train)
    assert decision.trained_on == len(train)
    outcomes = [outcome(decision, e) for e in held]
    unanswerable = [o for o, e in zip(outcomes, held, strict=True) if not e.answerable]
    answerable = [o for o, e in zip(outcomes, held, strict=True) if e.answerable]
    assert unanswerable and set(unanswerable) == {"refused"}
    assert answerable.count("right") >= 0.9 * len(answerable) and "wrong" not in answerable


def test_threshold_lies_above_every_unanswerable_confidence() -> None:
    examples = _examples()
    decision = fit(examples)
    refused = [decision.confidence(e.rows, e.texts)[1] for e in examples if not e.answerable]
    assert max(refused) < decision.threshold


def test_ranker_picks_the_candidate_that_meets_the_question() -> None:
    decision = fit(_examples())
    rows = _candidates(np.random.default_rng(3), 5, right=2)
    best, confidence = decision.confidence(rows, tuple(f"{j}名" for j in range(5)))
    assert best == 2 and confidence >= decision.threshold


def test_no_candidates_means_no_answer() -> None:
    decision = Decision.load()
    assert decision.confidence(np.zeros((0, len(FEATURES)), np.float32), ()) == (-1, 0.0)


def test_fit_needs_both_kinds_of_question() -> None:
    only_answerable = [e for e in _examples() if e.answerable]
    with pytest.raises(ValueError):
        fit(only_answerable)


def test_ranker_learns_what_sets_the_answer_apart_from_its_rivals() -> None:
    """Each question's candidates share a level of clause match that varies from question to question; only a
    small margin tells the right one. Trained on pairs within a question, the ranker picks by that margin (one
    trained on candidates one by one picks right about half the time here)."""
    rng = np.random.default_rng(5)
    column = FEATURES.index("clause_exact")

    def example(i: int) -> Example:
        answerable = i % 3 != 0
        rows = _candidates(rng, 5, None)
        rows[:, column] = rng.uniform(0.0, 0.9)
        right = int(rng.integers(5))
        if answerable:
            rows[right, column] += 0.08
        marks = np.array([answerable and j == right for j in range(5)])
        return Example(f"report-{i % 4}", rows, marks, answerable, f"q{i}", tuple(f"{i}-{j}次" for j in range(5)))

    train, held = [example(i) for i in range(150)], [example(i) for i in range(150, 210)]
    decision = fit(train)
    picks = [bool(e.right[decision.confidence(e.rows, e.texts)[0]]) for e in held if e.answerable]
    assert sum(picks) >= 0.8 * len(picks)

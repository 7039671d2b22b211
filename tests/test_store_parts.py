"""The embedded store's parts on small data: BM25 from segments equals BM25 rebuilt from the live rows,
merging segments changes nothing, the IVF index finds what exact search finds, and compaction keeps scores."""

from pathlib import Path

import numpy as np
import pytest

from retrieval.reports.documents import Passage, Report
from retrieval.search import dense, lexical
from retrieval.store import NewReport, Origin, compaction, embedded, snapshot

DOCS = [["调解", "调解员", "人民"], ["调解员", "网格"], ["法治", "宣传", "调解"], ["网格", "网格员", "网格"],
        ["普法", "宣传"], ["调解", "调解", "纠纷"]]


def _reference(docs: list[list[str]], terms: list[str], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """Okapi BM25 written out plainly (the formula the old in-memory index used)."""
    n, avg = len(docs), np.mean([len(d) for d in docs])
    out = np.zeros(n)
    for term in terms:
        df = sum(term in d for d in docs)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, doc in enumerate(docs):
            tf = doc.count(term)
            out[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avg)) if tf else 0.0
    return out


def _bm25(segments: list[lexical.Segment], docs: list[list[str]], alive: np.ndarray) -> lexical.BM25:
    return lexical.BM25(segments, np.array([len(d) for d in docs], np.float32), alive)


def test_bm25_over_segments_with_a_removed_row_equals_a_rebuild() -> None:
    segments = [lexical.build_segment(range(0, 3), DOCS[:3]), lexical.build_segment(range(3, 6), DOCS[3:])]
    alive = np.array([True, True, False, True, True, True])
    bm25 = _bm25(segments, DOCS, alive)
    live = [d for d, a in zip(DOCS, alive, strict=True) if a]
    query = ["调解", "网格", "宣传"]
    np.testing.assert_allclose(bm25.scores(query)[alive], _reference(live, query), rtol=1e-5)
    assert bm25.scores(query)[2] == 0.0
    rows = np.array([5, 0, 3])
    np.testing.assert_array_equal(bm25.scores(query, rows), bm25.scores(query)[rows])
    rare = ["网格员", "宣传"]  # terms in at most a third of the rows choose the top rows
    assert bm25.top(rare, 2).tolist() == np.argsort(-bm25.scores(rare), kind="stable")[:2].tolist()
    assert set(bm25.top(query, 5).tolist()) <= set(np.flatnonzero(bm25.scores(query) > 0).tolist())
    assert "网格员" in bm25 and "公务员" not in bm25 and bm25.idf("公务员") > bm25.idf("调解")


def test_merged_and_saved_segments_score_the_same(tmp_path: Path) -> None:
    parts = [lexical.build_segment(range(i, i + 2), DOCS[i:i + 2]) for i in (0, 2, 4)]
    merged = lexical.merge(parts)
    lexical.save(merged, tmp_path / "base")
    loaded = lexical.load(tmp_path / "base")
    again = lexical.from_bytes(lexical.to_bytes(merged))
    alive = np.ones(len(DOCS), bool)
    query = ["调解", "调解员", "网格"]
    expected = _bm25(parts, DOCS, alive).scores(query)
    for segment in (merged, loaded, again):
        np.testing.assert_array_equal(_bm25([segment], DOCS, alive).scores(query), expected)


def _clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    vectors = centres[rng.integers(0, 40, n)] + 0.3 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_ivf_search_finds_the_exact_neighbours() -> None:
    vectors = _clustered(6000)
    index = dense.build_ann(vectors)
    alive = np.ones(len(vectors), bool)
    alive[::7] = False
    queries = _clustered(30, seed=1)
    recall = []
    for query in queries:
        exact = dense.exact_top(vectors, query, 10, np.flatnonzero(alive))
        approx = dense.ann_top(index, vectors, query, 10, alive, None)
        assert alive[approx].all()
        recall.append(len(set(exact) & set(approx)) / 10)
    assert np.mean(recall) >= 0.95
    allowed = np.zeros(len(vectors), bool)
    allowed[1000:1500] = True
    within = dense.ann_top(index, vectors, queries[0], 10, alive, allowed)
    assert len(within) and ((within >= 1000) & (within < 1500)).all()


def _report(i: int, vectors: np.ndarray) -> NewReport:
    doc = f"doc{i}"
    passages = [Passage(doc, ("一",), f"第{i}份报告第{j}段") for j in range(len(vectors))]
    terms = [DOCS[(i + j) % len(DOCS)] + [f"镇{i}"] for j in range(len(vectors))]
    return NewReport(Report(doc, f"报告{i}", f"镇{i}", 2023, "x"), Origin(None, "0"), passages, terms, vectors)


def test_compaction_merges_segments_and_builds_the_index_without_changing_scores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dense, "ANN_MIN_ROWS", 1000)
    monkeypatch.setattr(compaction, "BASE_MIN_TAIL", 1500)
    monkeypatch.setattr(compaction, "ANN_MIN_TAIL", 500)
    monkeypatch.setattr(snapshot, "EXACT_MAX_ROWS", 100)
    vectors = _clustered(2000)
    store = embedded.EmbeddedStore(tmp_path / "store")
    for i in range(20):
        store.write(model="m", dim=32, add=[_report(i, vectors[i * 100:(i + 1) * 100])], compacting=False)
    before = store.snapshot()
    query = ["调解", "网格", "镇3"]
    lex = before.bm25.scores(query)
    store.write(model="m", dim=32, drop=["doc0"])  # compacts: base segment and IVF index
    after = store.snapshot()
    meta = embedded.read_meta(after.con)
    assert meta["base"] and meta["ann"] and after.ann is not None
    assert after.con.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 0
    assert not after.alive[:100].any() and after.alive[100:].all()
    fresh = _bm25([lexical.build_segment(range(100, 2000), [t for i in range(1, 20)
                                                          for t in _report(i, vectors[:100]).terms])],
                  [[]] * 100 + [t for i in range(1, 20) for t in _report(i, vectors[:100]).terms], after.alive)
    np.testing.assert_allclose(after.bm25.scores(query), fresh.scores(query), rtol=1e-6)
    assert not np.array_equal(lex, after.bm25.scores(query))  # doc0 no longer counts in the statistics
    hits = after.dense_top(vectors[150], 10, None)
    assert 150 in hits and (hits >= 100).all()
    assert sorted(p.name for p in (tmp_path / "store").iterdir() if p.name.startswith("postings-"))

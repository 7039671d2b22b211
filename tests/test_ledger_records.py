"""Ledger records: each report's figure rows, their sentences and their vectors, written with the report (both
stores), read in one go for many reports, never mixed with another snapshot's; and the reads a question over
many units makes in one pass (ranking every decided report, the recall check's exact search).

Uses the stores and the fake encoder of ``test_store``.
"""

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import retrieval.answers.decide.ledger
from retrieval.answers.decide.ledger import entry
from retrieval.engine import Engine, EngineConfig
from retrieval.reports.ledger_rows import figure_rows
from retrieval.search.tokenize import Tokenizer
from retrieval.store import open_store
from retrieval.store.schema import DB
from retrieval.tools.scale import _exact_top, _read_rows
from tests.test_store import (  # noqa: F401 — fixtures shared with the store suite
    QUESTION,
    STORES,
    FakeEncoder,
    _first_figure,
    _renamed_copy,
    built,
    config,
    one_tokenizer,
)


def test_records_hold_rows_sentences_and_vectors_made_at_indexing(config: EngineConfig,
                                                                  one_tokenizer: Tokenizer) -> None:
    encoder = FakeEncoder()
    snapshot = Engine.open(config, encoder=encoder).searcher.corpus
    records = snapshot.ledger_records(list(snapshot.reports))
    assert set(records) == set(snapshot.reports)
    for doc_id, record in records.items():
        first, count = snapshot.ranges[doc_id]
        passages = [snapshot.passages[row] for row in range(first, first + count)]
        assert record.rows == figure_rows(passages, one_tokenizer.tagged)
        assert record.sentences == [passages[r.offset].text[r.span[0]:r.span[1]] for r in record.rows]
        texts = [entry(0, passages[r.offset], r).context for r in record.rows]
        assert record.vectors is not None and np.allclose(record.vectors, encoder.encode_queries(texts), atol=1e-6)


def test_a_reader_of_the_snapshot_before_a_replacement_reads_the_old_record(built: tuple[Path, int],
                                                                            tmp_path: Path) -> None:
    """The embedded store (Milvus has no snapshots: a replaced report's rows go once the new ones are written)."""
    config = EngineConfig(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    shutil.copytree(built[0], config.index_dir)
    engine = Engine.open(config, encoder=FakeEncoder())
    engine.add_report(_renamed_copy(tmp_path, mediators="63名"))
    before = open_store(config.index_dir).snapshot()
    assert before is not None
    doc_id = next(d for d, r in before.reports.items() if r.town == "测试镇")
    engine.add_report(_renamed_copy(tmp_path, mediators="71名"))  # the same town and year: replaced
    after = engine.searcher.corpus
    new_id = next(d for d, r in after.reports.items() if r.town == "测试镇")
    old, new = before.ledger_records([doc_id])[doc_id], after.ledger_records([new_id])[new_id]
    assert any("63名" in s for s in old.sentences) and not any("71名" in s for s in old.sentences)
    assert any("71名" in s for s in new.sentences) and not any("63名" in s for s in new.sentences)
    assert _first_figure(engine, "测试镇有多少人民调解员？") == ("71名", "测试镇")


def test_a_record_whose_texts_changed_is_embedded_again(built: tuple[Path, int], tmp_path: Path) -> None:
    """A record's vectors name what they were made from; made from other texts (the ledger's text changed
    since), they are not used: the ledger embeds the report's rows afresh, once, and answers the same."""
    config = EngineConfig(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    shutil.copytree(built[0], config.index_dir)
    with sqlite3.connect(config.index_dir / DB, isolation_level=None) as con:
        con.execute("UPDATE ledgers SET key = 'made-from-other-texts'")
    encoder = FakeEncoder()
    engine = Engine.open(config, encoder=encoder)
    taiping = next(r for r in engine.reports() if r.town == "太平镇")
    assert encoder.ledger_calls == []
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")
    rows = len(engine.searcher.corpus.figure_rows(taiping.doc_id))
    assert encoder.ledger_calls == [rows]
    Engine.open(config, encoder=(again := FakeEncoder())).searcher.ledger.prepare([taiping.doc_id])
    assert again.ledger_calls == []  # kept in the ledger's folder since


def test_ranking_every_decided_report_at_once_equals_ranking_each(config: EngineConfig) -> None:
    searcher = Engine.open(config, encoder=FakeEncoder()).searcher
    reports = searcher.reports
    for text in ("人民调解员", "化解矛盾纠纷多少件", "普法宣传"):
        together = searcher.rank_each(text, reports)
        assert list(together) == [r.doc_id for r in reports]
        for report in reports:
            assert together[report.doc_id] == searcher.rank(text, searcher.rows([report]))


def test_the_ledger_lets_go_of_the_reports_read_first(config: EngineConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retrieval.answers.decide.ledger, "KEPT_REPORTS", 2)
    ledger = Engine.open(config, encoder=FakeEncoder()).searcher.ledger
    doc_ids = [r.doc_id for r in Engine.open(config, encoder=FakeEncoder()).reports()]
    first = ledger.report(doc_ids[0])
    ledger.prepare(doc_ids[1:4])
    assert len(ledger._reports) == 2 and doc_ids[0] not in ledger._reports
    again = ledger.report(doc_ids[0])  # read again, the same rows
    assert again is not first
    assert {row: [r.entry for r in rows] for row, rows in again.items()} == \
           {row: [r.entry for r in rows] for row, rows in first.items()}


def test_exact_search_in_chunks_read_from_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(2000, 24)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors.tofile(tmp_path / "v.f32")
    mapped = np.memmap(tmp_path / "v.f32", dtype=np.float32, mode="r", shape=vectors.shape)
    rows = np.flatnonzero(rng.random(2000) > 0.3)  # some rows removed
    assert np.array_equal(_read_rows(mapped, rows[100:300]), vectors[rows[100:300]])
    queries = vectors[rng.choice(rows, 5)] + rng.normal(0, 0.05, (5, 24)).astype(np.float32)
    truth = np.argsort(-(vectors[rows] @ queries.T), axis=0, kind="stable")[:10].T
    assert np.array_equal(_exact_top(mapped, queries, rows, chunk=137), rows[truth])


def test_the_reports_of_named_units_are_looked_up_in_report_order(config: EngineConfig, tmp_path: Path) -> None:
    engine = Engine.open(config, encoder=FakeEncoder())
    engine.add_report(_renamed_copy(tmp_path, "东山镇"))
    searcher = engine.searcher
    for towns in (["太平镇"], ["双塔镇", "东山镇", "中塘镇"], ["没有的镇"], ["太平镇", "太平镇"], []):
        assert searcher.of_towns(towns) == [r for r in searcher.reports if r.town in towns]


def test_milvus_figure_rows_carry_their_vector_when_it_fits_the_field() -> None:
    from retrieval.reports.figures import Figure
    from retrieval.store import FigureRow
    from retrieval.store.milvus_snapshot import figure_json, figure_row, ledger_row

    row = FigureRow(1, 2, (0, 9), Figure("63名", 63, "名", None, "调解员", 5, 8), (0, 9), (3, 9), 0, "")
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    assert ledger_row(figure_json(row, "key", vector))[0] == row == figure_row(figure_json(row))
    _, key, kept = ledger_row(figure_json(row, "key", vector))
    assert key == "key" and kept is not None and np.array_equal(kept, vector)
    assert ledger_row(figure_json(row, "key", np.zeros(4096, np.float32)))[1:] == ("", None)  # too long: not kept

"""Figure rows: extracted once at indexing, stored with every column the ledger reads, read back as they were
written (both stores), and a store of the previous format or of an earlier extraction migrated in place (never
half read).

Uses the stores and the fake encoder of ``test_store``.
"""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

import retrieval.reports.ledger_rows
from retrieval.answers.decide.ledger import entry, keep_vectors, passage_entries, vector_path
from retrieval.engine import Engine, EngineConfig
from retrieval.reports.ledger_rows import figure_rows
from retrieval.search.tokenize import Tokenizer
from retrieval.store import FigureRow, open_store
from retrieval.store.milvus import PREFIX, MilvusStore
from retrieval.store.schema import DB, FIGURES_3, connect, read_ledgers, read_meta, stored_reports
from tests.test_store import (  # noqa: F401 — fixtures shared with the store suite
    QUESTION,
    SEED_TOWNS,
    STORES,
    FakeEncoder,
    _first_figure,
    _renamed_copy,
    _towns,
    built,
    config,
    one_tokenizer,
)

# The figures table of format 2, and what its rows held.
FORMAT_2_FIGURES = """CREATE TABLE figures(doc_id TEXT NOT NULL, row INTEGER NOT NULL, sentence INTEGER NOT NULL,
    clause TEXT NOT NULL, noun TEXT NOT NULL, unit_group TEXT NOT NULL, value REAL, qualifier TEXT,
    text TEXT NOT NULL)"""


def _stored(engine: Engine) -> dict[str, list[FigureRow]]:
    snapshot = engine.searcher.corpus
    return {doc_id: snapshot.figure_rows(doc_id) for doc_id in snapshot.reports}


def _ledger_vectors(engine: Engine) -> dict[str, list[list[float]]]:
    """Every report's ledger vectors as the store holds them (none for Milvus: the ledger's folder keeps them)."""
    snapshot = engine.searcher.corpus
    records = snapshot.ledger_records(snapshot.reports)
    return {d: [] if r.vectors is None else r.vectors.round(6).tolist() for d, r in records.items()}


def _keep_in_folder(engine: Engine) -> None:
    """Keep each report's ledger vectors in the ledger's folder, as the stores of earlier formats had them."""
    snapshot = engine.searcher.corpus
    for doc_id, record in snapshot.ledger_records(snapshot.reports).items():
        first = snapshot.ranges[doc_id][0]
        entries = [entry(0, snapshot.passages[first + r.offset], r) for r in record.rows]
        assert record.vectors is not None
        keep_vectors(vector_path(engine.config.index_dir / "ledger", doc_id, entries, engine.encoder), record.vectors)


def _afresh(engine: Engine, tokenizer: Tokenizer) -> dict[str, list[FigureRow]]:
    snapshot = engine.searcher.corpus
    return {doc_id: figure_rows([snapshot.passages[int(r)] for r in snapshot.rows([doc_id])], tokenizer.tagged)
            for doc_id in snapshot.reports}


def test_stored_rows_are_what_extraction_gives(config: EngineConfig, one_tokenizer: Tokenizer) -> None:
    engine = Engine.open(config, encoder=FakeEncoder())
    stored = _stored(engine)
    assert stored == _afresh(engine, one_tokenizer)
    rows = [row for report in stored.values() for row in report]
    assert len(rows) > 100
    assert {type(r.figure.value) for r in rows} >= {int, float, type(None)}  # an int stays an int
    assert any(r.after for r in rows) and any(r.position > 0 for r in rows)
    assert any(r.figure.bound or r.figure.high is not None or r.figure.period for r in rows)


def test_ledger_entries_come_from_the_stored_rows(config: EngineConfig, one_tokenizer: Tokenizer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.open(config, encoder=FakeEncoder())
    searcher = engine.searcher
    taiping = next(r for r in searcher.reports if r.town == "太平镇")
    snapshot = searcher.corpus
    expected = [e for row in snapshot.rows([taiping.doc_id])
                for e in passage_entries(int(row), snapshot.passages[int(row)], one_tokenizer.tagged)]

    def no_extraction(*_: object) -> list[object]:
        raise AssertionError("figures extracted at answer time")

    monkeypatch.setattr(retrieval.reports.ledger_rows, "extract_figures", no_extraction)
    assert searcher.ledger.entries([taiping.doc_id]) == expected
    mediators = next(e for e in expected if e.figure.text == "63名")
    assert mediators.clause in mediators.sentence and mediators.figure.text in mediators.phrase
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


# --- a store of the previous format ------------------------------------------------------------------


def _to_format_3(config: EngineConfig) -> None:
    """Rewrite the store's ledger records as format 3 held them: a table row per figure (the rows' vectors were
    kept by the ledger in its folder: ``_keep_in_folder``)."""
    with sqlite3.connect(config.index_dir / DB, isolation_level=None) as con:
        con.execute("BEGIN")
        con.execute(FIGURES_3)
        for report, _, first, _count in stored_reports(con):
            record = read_ledgers(con, [first], FakeEncoder().dim)[first]
            con.executemany(f"INSERT INTO figures VALUES ({', '.join('?' * 23)})", [  # noqa: S608
                (report.doc_id, first + r.offset, r.sentence, *r.span, r.position, r.figure.text, r.figure.value,
                 r.figure.unit, r.figure.group, r.figure.qualifier, r.figure.subject, r.figure.start, r.figure.end,
                 r.figure.kind, r.figure.bound, r.figure.high, r.figure.period, *r.clause, *r.phrase, r.after)
                for r in record.rows])
        con.execute("DROP TABLE ledgers")
        con.execute("UPDATE meta SET value = '3' WHERE key = 'format'")
        con.execute("COMMIT")


def _to_previous_format(config: EngineConfig, version: int = 2) -> None:
    """Rewrite the store's figure rows as an earlier format held them, and mark it of that format."""
    if not config.store:
        _to_format_3(config)
        if version == 3:
            return
        with sqlite3.connect(config.index_dir / DB, isolation_level=None) as con:
            con.execute("BEGIN")
            rows = con.execute("SELECT doc_id, row, sentence, subject, unit_group, value, qualifier, text "
                               "FROM figures").fetchall()
            con.execute("DROP TABLE figures")
            con.execute(FORMAT_2_FIGURES)
            con.executemany("INSERT INTO figures VALUES (?, ?, ?, '', ?, ?, ?, ?, ?)", rows)
            con.execute("UPDATE meta SET value = '2' WHERE key = 'format'")
            con.execute("COMMIT")
        return
    store = MilvusStore(config.store, lock_dir=config.index_dir)
    client = store.client
    old = [{"id": r["id"], "doc_id": r["doc_id"], "row": r["row"], "v": r["v"], "row_json": json.dumps({
        "offset": 0, "sentence": f["sentence"], "clause": "", "noun": f["figure"]["subject"], "group": "",
        "value": f["figure"]["value"], "qualifier": f["figure"]["qualifier"], "text": f["figure"]["text"]},
        ensure_ascii=False)} for r in client.query(PREFIX + "figures", filter="row >= 0", limit=16000,
                                                   output_fields=["*"]) for f in [json.loads(r["row_json"])]]
    client.upsert(PREFIX + "figures", old)
    client.upsert(PREFIX + "meta", [{"key": "format", "value": "milvus-1", "v": [0.0, 0.0]}])
    store.close()


@pytest.mark.parametrize("version", [2, 3])
def test_previous_format_is_migrated_in_place(config: EngineConfig, tmp_path: Path, one_tokenizer: Tokenizer,
                                              version: int) -> None:
    source = Engine.open(config, encoder=FakeEncoder())
    source.add_report(_renamed_copy(tmp_path))  # only a migration keeps a report the seeds do not have
    expected = _stored(source)
    vectors = _ledger_vectors(source)
    _keep_in_folder(source)
    del source
    _to_previous_format(config, version)
    assert open_store(config.index_dir, config.store).snapshot() is None  # never read half

    encoder = FakeEncoder()
    engine = Engine.open(config, encoder=encoder)
    assert encoder.passage_calls == [] and encoder.ledger_calls == []  # nothing embedded again
    assert _ledger_vectors(engine) == vectors  # the kept ledger vectors moved into the store
    assert _towns(engine) == sorted([*SEED_TOWNS, "测试镇"])
    assert _stored(engine) == expected == _afresh(engine, one_tokenizer)
    assert _first_figure(engine, "测试镇有多少人民调解员？") == ("63名", "测试镇")
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


def _to_earlier_extraction(config: EngineConfig) -> None:
    """Mark the store as indexed with the first extraction (which recorded no version), its figure rows lost."""
    if not config.store:
        with sqlite3.connect(config.index_dir / DB, isolation_level=None) as con:
            con.execute("UPDATE ledgers SET rows = '[]', key = '', vectors = NULL")
            con.execute("DELETE FROM meta WHERE key = 'extraction'")
        return
    store = MilvusStore(config.store, lock_dir=config.index_dir)
    store.client.delete(PREFIX + "figures", filter="row >= 0")
    store.client.upsert(PREFIX + "meta", [{"key": "extraction", "value": "1", "v": [0.0, 0.0]}])
    store.close()


def test_a_store_of_an_earlier_extraction_makes_its_rows_again(config: EngineConfig, one_tokenizer: Tokenizer) -> None:
    """New kinds of figure reach the reports indexed before: their rows are made again when the store opens."""
    expected = _stored(Engine.open(config, encoder=FakeEncoder()))
    _to_earlier_extraction(config)
    assert open_store(config.index_dir, config.store).snapshot() is None  # never read with the old rows
    encoder = FakeEncoder()
    engine = Engine.open(config, encoder=encoder)
    assert encoder.passage_calls == []  # the passages are not embedded again
    assert _stored(engine) == expected == _afresh(engine, one_tokenizer)
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")
    assert open_store(config.index_dir, config.store).version() == engine.store.version()


def test_rebuilding_over_the_previous_format_replaces_it(config: EngineConfig, tmp_path: Path) -> None:
    """`fazhi index FILES` over a store of the previous format: its tables are made anew, not written with
    columns they lack."""
    Engine.open(config, encoder=FakeEncoder())
    _to_previous_format(config)
    engine = Engine.open(config, encoder=FakeEncoder(), rebuild_from=[_renamed_copy(tmp_path)])
    assert _towns(engine) == ["测试镇"]
    assert _first_figure(engine, "测试镇有多少人民调解员？") == ("63名", "测试镇")


def test_migration_killed_midway_leaves_the_previous_format(built: tuple[Path, int], tmp_path: Path,
                                                            one_tokenizer: Tokenizer) -> None:
    shutil.copytree(built[0], tmp_path / "index")
    config = EngineConfig(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    _to_previous_format(config)
    store = open_store(config.index_dir)
    made: list[int] = []

    def failing(passages: object) -> list[FigureRow]:
        made.append(1)
        if len(made) == 3:
            raise KeyboardInterrupt  # stopped in the middle of the transaction
        return figure_rows(passages, one_tokenizer.tagged)  # type: ignore[arg-type]

    with store.lock(), pytest.raises(KeyboardInterrupt):
        store.migrate(failing)
    con = connect(config.index_dir / DB)
    assert read_meta(con)["format"] == "2" and store.snapshot() is None
    assert "noun" in [c[1] for c in con.execute("PRAGMA table_info(figures)")]  # the old table, whole
    engine = Engine.open(config, encoder=FakeEncoder())
    assert read_meta(con)["format"] == "4"
    assert _stored(engine) == _afresh(engine, one_tokenizer)


def test_an_added_report_has_its_ledger_vectors_made_at_add(config: EngineConfig, tmp_path: Path) -> None:
    encoder = FakeEncoder()
    result = Engine.open(config, encoder=encoder).add_report(_renamed_copy(tmp_path))
    rows = len(Engine.open(config, encoder=FakeEncoder()).searcher.corpus.figure_rows(result.report.doc_id))
    assert encoder.ledger_calls == [rows] and rows > 10  # embedded once, while adding
    asking = FakeEncoder()
    reader = Engine.open(config, encoder=asking)
    assert len(reader.searcher.ledger.entries([result.report.doc_id])) == rows
    assert asking.ledger_calls == []  # the first question about it embeds nothing

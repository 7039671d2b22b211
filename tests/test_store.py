"""The store on disk, through the engine: built once, changed one report at a time, one writer, crash safe.

Both stores run the same suite (``store`` is parametrised: the embedded store, and Milvus Lite in a local
file). Every test runs on its own store built from the seeds with a deterministic fake encoder (character
bigrams hashed into 64 dimensions), so nothing downloads or loads a model. The crash tests fork a writer
that stops for good in the middle of a write, and kill it with SIGKILL.
"""

import contextlib
import os
import select
import shutil
import signal
import sys
import time
import traceback
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

import retrieval.engine
from retrieval.engine import Engine, EngineConfig
from retrieval.errors import IndexBusyError, UnknownReportError
from retrieval.search.tokenize import Tokenizer
from retrieval.store import embedded, open_store
from seeds import seed_paths

TAIPING = next(path for path in seed_paths() if path.name.startswith("002_"))
QUESTION = "太平镇有多少人民调解员？"
SEED_TOWNS = ["中塘镇", "双塔镇", "太平镇", "官塘镇", "板溪镇"]
STORES = ["embedded", pytest.param("milvus", marks=pytest.mark.milvus)]


class FakeEncoder:
    """Character bigrams hashed (crc32) into ``dim`` buckets, L2-normalised; counts the passage texts it
    embeds, and apart from them the ledger rows' texts (``retrieval.answers.decide.ledger`` embeds each report's rows)."""

    def __init__(self, name: str = "fake", dim: int = 64) -> None:
        self.name, self.dim = name, dim
        self.passage_calls: list[int] = []
        self.ledger_calls: list[int] = []

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for a, b in pairwise(text):
                out[row, zlib.crc32((a + b).encode()) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts))

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        from_ledger = sys._getframe(1).f_globals.get("__name__") == "retrieval.answers.decide.ledger"
        (self.ledger_calls if from_ledger else self.passage_calls).append(len(texts))
        return self._encode(texts)


def _first_figure(engine: Engine, question: str) -> tuple[str, str] | None:
    figures = engine.ask(question).to_json()["figures"]
    return (figures[0]["text"], figures[0]["town"]) if figures else None


def _renamed_copy(folder: Path, town: str = "测试镇", *, mediators: str = "63名") -> Path:
    """The 太平镇 seed with the town renamed (and optionally the mediator count changed)."""
    text = TAIPING.read_text(encoding="utf-8").replace("太平镇", town).replace("调解员63名", f"调解员{mediators}")
    path = folder / f"{town}-{mediators}.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _towns(engine: Engine) -> list[str]:
    return sorted(r.town for r in engine.reports())


@pytest.fixture(scope="module", autouse=True)
def one_tokenizer() -> Iterator[Tokenizer]:
    """jieba loads its dictionaries for every Tokenizer (seconds each): the engines here share one."""
    tokenizer = Tokenizer()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(retrieval.engine, "Tokenizer", lambda: tokenizer)
        yield tokenizer


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """An embedded store built from the seeds (never changed), and how many passage texts the build embedded."""
    index_dir = tmp_path_factory.mktemp("built") / "index"
    encoder = FakeEncoder()
    Engine.open(EngineConfig(index_dir=index_dir, cache_dir=index_dir.parent / "cache"), encoder=encoder)
    return index_dir, sum(encoder.passage_calls)


@pytest.fixture(params=STORES)
def config(request: pytest.FixtureRequest, built: tuple[Path, int], tmp_path: Path) -> EngineConfig:
    """A private store of the seeds: a copy of the built embedded one, or a Milvus Lite file built afresh."""
    index_dir = tmp_path / "index"
    if request.param == "embedded":
        shutil.copytree(built[0], index_dir)
        return EngineConfig(index_dir=index_dir, cache_dir=tmp_path / "cache")
    config = EngineConfig(index_dir=index_dir, cache_dir=tmp_path / "cache", store=str(tmp_path / "milvus.db"))
    Engine.open(config, encoder=FakeEncoder())
    return config


def test_build_from_seeds(config: EngineConfig, built: tuple[Path, int]) -> None:
    encoder = FakeEncoder()
    engine = Engine.open(config, encoder=encoder)
    snapshot = engine.searcher.corpus
    assert encoder.passage_calls == []
    assert _towns(engine) == SEED_TOWNS
    assert (snapshot.model, snapshot.dim) == ("fake", 64)
    rows = snapshot.rows(snapshot.reports)
    assert len(rows) == built[1] == sum(r.passages for r in engine.reports())
    assert {snapshot.passages[int(r)].doc_id for r in rows} == set(snapshot.reports)
    assert all(snapshot.stored_terms(rows[:20]))
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


def test_embedded_store_layout(built: tuple[Path, int]) -> None:
    index_dir, embedded_passages = built
    con = embedded.connect(index_dir / "store.sqlite")
    meta = embedded.read_meta(con)
    assert (meta["format"], meta["model"], meta["dim"], meta["rows"]) == ("4", "fake", "64", str(embedded_passages))
    assert con.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == embedded_passages
    assert (index_dir / f"vectors-{meta['epoch']}.f32").stat().st_size == embedded_passages * 64 * 4
    records = con.execute("SELECT COUNT(*), SUM(json_array_length(rows)), SUM(length(vectors)) FROM ledgers").fetchone()
    reports, figures = con.execute("SELECT COUNT(*), SUM(json_extract(report, '$.figures')) FROM reports").fetchone()
    assert records[0] == reports  # one ledger record per report, written with it
    assert records[1] >= figures > 100  # every figure of every report is a row (sentences split finer)
    assert records[2] == records[1] * 64 * 4  # and every row has its vector
    assert not (index_dir / "ledger").exists()  # nothing kept beside the store


@pytest.mark.parametrize(("name", "dim"), [pytest.param("fake-2", 64, id="other-name"),
                                           pytest.param("fake", 32, id="other-dimension")])
def test_other_encoder_reembeds_the_same_passages(config: EngineConfig, name: str, dim: int) -> None:
    encoder = FakeEncoder(name=name, dim=dim)
    before = Engine.open(config, encoder=FakeEncoder()).searcher.corpus
    before_rows = before.rows(before.reports)
    texts = [before.passages[int(r)].text for r in before_rows]
    terms = before.stored_terms(before_rows)
    engine = Engine.open(config, encoder=encoder)
    after = engine.searcher.corpus
    after_rows = after.rows(after.reports)
    assert (after.model, after.dim) == (encoder.name, encoder.dim)
    assert [after.passages[int(r)].text for r in after_rows] == texts
    assert after.stored_terms(after_rows) == terms
    assert encoder.passage_calls == [len(texts)]
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


def test_add_report_embeds_only_its_passages(config: EngineConfig, tmp_path: Path) -> None:
    encoder = FakeEncoder()
    engine = Engine.open(config, encoder=encoder)
    version = engine.store.version()
    result = engine.add_report(_renamed_copy(tmp_path))
    assert (result.report.town, result.report.year, result.replaced) == ("测试镇", 2023, None)
    assert encoder.passage_calls == [result.report.passages] and result.report.passages > 10
    assert result.figures and result.figures[0].text
    assert engine.store.version() != version
    assert len(engine.reports()) == 6
    assert _first_figure(engine, "测试镇有多少人民调解员？") == ("63名", "测试镇")
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")
    reopened = FakeEncoder()
    assert len(Engine.open(config, encoder=reopened).reports()) == 6 and reopened.passage_calls == []


def test_same_town_and_year_replaces_the_report(config: EngineConfig, tmp_path: Path) -> None:
    encoder = FakeEncoder()
    engine = Engine.open(config, encoder=encoder)
    first = engine.add_report(_renamed_copy(tmp_path))
    second = engine.add_report(_renamed_copy(tmp_path, mediators="64名"))
    assert second.replaced is not None and second.replaced.doc_id == first.report.doc_id
    assert second.report.doc_id != first.report.doc_id
    assert encoder.passage_calls == [first.report.passages, second.report.passages]
    assert len(engine.reports()) == 6
    assert first.report.doc_id not in engine.searcher.corpus.reports
    assert _first_figure(engine, "测试镇有多少人民调解员？") == ("64名", "测试镇")


def test_remove_report(config: EngineConfig) -> None:
    engine = Engine.open(config, encoder=FakeEncoder())
    gone = engine.remove_report("太平镇", 2023)
    assert (gone.town, gone.year) == ("太平镇", 2023)
    assert _towns(engine) == ["中塘镇", "双塔镇", "官塘镇", "板溪镇"]
    answer = engine.ask(QUESTION)
    assert answer.found is False and answer.to_json()["figures"] == []
    with pytest.raises(UnknownReportError):
        engine.remove_report("太平镇", 2023)
    encoder = FakeEncoder()
    assert len(Engine.open(config, encoder=encoder).reports()) == 4
    assert encoder.passage_calls == []


def test_other_engine_picks_up_a_commit(config: EngineConfig, tmp_path: Path) -> None:
    reader = Engine.open(config, encoder=FakeEncoder())
    writer = Engine.open(config, encoder=FakeEncoder())
    writer.add_report(_renamed_copy(tmp_path))
    assert _first_figure(reader, "测试镇有多少人民调解员？") == ("63名", "测试镇")


def test_candidates_stay_within_the_filters(config: EngineConfig) -> None:
    searcher = Engine.open(config, encoder=FakeEncoder()).searcher
    taiping = next(r for r in searcher.reports if r.town == "太平镇")
    hits = searcher.candidates("人民调解员", 10, towns={"太平镇"})
    assert len(hits) == 10 and {searcher.corpus.passages[h.row].doc_id for h in hits} == {taiping.doc_id}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert searcher.candidates("人民调解员", 10, years={1999}) == []
    everywhere = searcher.candidates("人民调解员", 10)
    assert len({searcher.corpus.passages[h.row].doc_id for h in everywhere}) > 1
    ranked = searcher.rank("人民调解员", searcher.rows([taiping]))
    assert hits[0].row == ranked[0].row  # the report's best passage is among the top candidates


def test_lock_in_the_same_process(config: EngineConfig) -> None:
    store = open_store(config.index_dir, config.store)
    with store.lock(), pytest.raises(IndexBusyError), store.lock(timeout=0.2):
        pass
    with store.lock(timeout=0.2):
        pass


# --- a second process: a writer stalled (or killed) in the middle of a write (embedded store) ----------


def _write_and_stall(point: str, config: EngineConfig, report: Path, signal_fd: int) -> None:
    """In a forked child: add ``report``, stopping for good at ``point`` of the write (lock held)."""

    def stall(*_: object) -> None:
        os.write(signal_fd, b"stalled")
        time.sleep(120)

    if point == "vectors-appended":
        real_append = embedded.dense.append_vectors

        def append(*args: object) -> None:
            real_append(*args)  # type: ignore[arg-type]
            stall()

        embedded.dense.append_vectors = append  # type: ignore[assignment]
    else:  # inside the transaction, every row inserted, before COMMIT
        embedded.commit_meta = stall  # type: ignore[assignment]
    Engine.open(config, encoder=FakeEncoder()).add_report(report)


@pytest.fixture
def stalled_writer(tmp_path: Path) -> Iterator[Callable[[str, EngineConfig], int]]:
    """Fork a writer process that stops at ``point`` while adding a report; returns its pid."""
    children: list[int] = []

    def start(point: str, config: EngineConfig) -> int:
        report = _renamed_copy(tmp_path)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            try:
                os.close(read_fd)
                _write_and_stall(point, config, report, write_fd)
            except BaseException:  # noqa: BLE001 — the child reports any failure, then exits
                traceback.print_exc()
            finally:
                os._exit(1)
        os.close(write_fd)
        children.append(pid)
        ready, _, _ = select.select([read_fd], [], [], 60)
        message = os.read(read_fd, 64) if ready else b""
        os.close(read_fd)
        assert message == b"stalled", f"the writer did not reach {point}"
        return pid

    yield start
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


@pytest.fixture
def own_store(built: tuple[Path, int], tmp_path: Path) -> EngineConfig:
    shutil.copytree(built[0], tmp_path / "index")
    return EngineConfig(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")


def test_second_writer_is_refused_while_the_first_holds_the_lock(
        own_store: EngineConfig, tmp_path: Path, stalled_writer: Callable[[str, EngineConfig], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(own_store.index_dir)
    version = store.version()
    stalled_writer("in-transaction", own_store)
    with pytest.raises(IndexBusyError), store.lock(timeout=0.3):
        pass
    monkeypatch.setattr(embedded.EmbeddedStore, "lock_timeout", 0.3)
    engine = Engine.open(own_store, encoder=FakeEncoder())
    with pytest.raises(IndexBusyError):
        engine.add_report(_renamed_copy(tmp_path, "别的镇"))
    with pytest.raises(IndexBusyError):
        engine.remove_report("太平镇", 2023)
    assert store.version() == version
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


@pytest.mark.parametrize("point", ["vectors-appended", "in-transaction"])
def test_writer_killed_mid_write_loses_nothing(
        own_store: EngineConfig, tmp_path: Path, stalled_writer: Callable[[str, EngineConfig], int],
        point: str) -> None:
    store = open_store(own_store.index_dir)
    version = store.version()
    pid = stalled_writer(point, own_store)
    reader = Engine.open(own_store, encoder=FakeEncoder())  # readers never wait for the writer
    assert _first_figure(reader, QUESTION) == ("63名", "太平镇")
    _kill(pid)

    assert store.version() == version
    encoder = FakeEncoder()
    engine = Engine.open(own_store, encoder=encoder)
    assert encoder.passage_calls == []
    assert _towns(engine) == SEED_TOWNS
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")

    engine.add_report(_renamed_copy(tmp_path))  # the next writer cuts what the killed one appended
    assert store.version() != version
    fresh = Engine.open(own_store, encoder=FakeEncoder())
    assert _first_figure(fresh, "测试镇有多少人民调解员？") == ("63名", "测试镇")
    assert _first_figure(fresh, QUESTION) == ("63名", "太平镇")
    snapshot = fresh.searcher.corpus
    assert snapshot.vectors.shape[0] == len(snapshot.alive)


# --- an index of the older folder format ---------------------------------------------------------------


def _format_one(index_dir: Path, engine: Engine, *, model: str = "fake", broken: bool = False) -> None:
    """Write ``engine``'s reports as a format-1 index (versions/v-1, ``current`` pointing at it)."""
    import json

    import faiss

    snapshot = engine.searcher.corpus
    folder = index_dir / "versions" / "v-1"
    folder.mkdir(parents=True)
    reports = [{"doc_id": d, "report": vars(r), "origin": vars(snapshot.origins[d])} for d, r in snapshot.reports.items()]
    manifest = {"format": 1, "model": model, "dim": 64, "fingerprint": "", "reports": reports}
    (folder / "manifest.json").write_text("{" if broken else json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    rows = snapshot.rows(snapshot.reports)
    lines = [json.dumps({"doc": p.doc_id, "section": p.section, "text": p.text, "terms": t}, ensure_ascii=False)
             for p, t in zip((snapshot.passages[int(r)] for r in rows), snapshot.stored_terms(rows), strict=True)]
    (folder / "passages.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = faiss.IndexFlatIP(64)
    index.add(np.ascontiguousarray(snapshot.vectors[rows]))
    faiss.write_index(index, str(folder / "dense.faiss"))
    os.symlink("versions/v-1", index_dir / "current")


@pytest.mark.parametrize(("model", "broken", "migrated"), [
    pytest.param("fake", False, True, id="same-model-migrated"),
    pytest.param("other", False, False, id="other-model-rebuilt"),
    pytest.param("fake", True, False, id="unreadable-rebuilt"),
])
def test_older_format_is_migrated_or_rebuilt(own_store: EngineConfig, tmp_path: Path, model: str, broken: bool,
                                             migrated: bool) -> None:
    source = Engine.open(own_store, encoder=FakeEncoder())
    source.add_report(_renamed_copy(tmp_path))  # a report the seeds do not have: only migration keeps it
    old = tmp_path / "old"
    _format_one(old, source, model=model, broken=broken)
    encoder = FakeEncoder()
    engine = Engine.open(replace(own_store, index_dir=old), encoder=encoder)
    assert not (old / "current").exists() and not (old / "versions").exists()
    if migrated:
        assert encoder.passage_calls == []
        assert _towns(engine) == sorted([*SEED_TOWNS, "测试镇"])
        assert _first_figure(engine, "测试镇有多少人民调解员？") == ("63名", "测试镇")
    else:
        assert encoder.passage_calls and _towns(engine) == SEED_TOWNS
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


def test_changed_report_file_is_reread_on_open(tmp_path: Path) -> None:
    """The index notices a report file that changed since it was indexed and re-reads only that one."""
    report = _renamed_copy(tmp_path, "青山镇")
    other = _renamed_copy(tmp_path, "白云镇")
    config = EngineConfig(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    Engine.open(config, encoder=FakeEncoder(), rebuild_from=[report, other])
    report.write_text(report.read_text(encoding="utf-8").replace("调解员63名", "调解员64名"), encoding="utf-8")

    encoder = FakeEncoder()
    engine = Engine.open(config, encoder=encoder)
    assert _first_figure(engine, "青山镇有多少人民调解员？") == ("64名", "青山镇")
    assert _first_figure(engine, "白云镇有多少人民调解员？") == ("63名", "白云镇")
    assert len(engine.reports()) == 2
    assert encoder.passage_calls == [next(r.passages for r in engine.reports() if r.town == "青山镇")]

    encoder = FakeEncoder()
    Engine.open(config, encoder=encoder)
    assert encoder.passage_calls == []  # nothing changed since: nothing re-read


def test_changed_file_that_no_longer_reads_keeps_the_indexed_report(tmp_path: Path) -> None:
    report = _renamed_copy(tmp_path, "青山镇")
    config = EngineConfig(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    Engine.open(config, encoder=FakeEncoder(), rebuild_from=[report])
    report.write_text("", encoding="utf-8")
    engine = Engine.open(config, encoder=FakeEncoder())
    assert _first_figure(engine, "青山镇有多少人民调解员？") == ("63名", "青山镇")

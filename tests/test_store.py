"""The index on disk: built once, versioned, changed one report at a time, one writer, crash safe.

Every test runs on its own copy of an index built from the seeds with a deterministic fake encoder
(character bigrams hashed into 64 dimensions), so nothing downloads or loads a model. The crash tests
fork a writer that stops for good in the middle of writing a new version, and kill it with SIGKILL.
"""

import contextlib
import json
import os
import select
import shutil
import signal
import sys
import time
import traceback
import zlib
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

import retrieval.engine
from retrieval import store
from retrieval.dense import DenseIndex
from retrieval.engine import Engine, EngineConfig
from retrieval.errors import IndexBusyError, UnknownReportError
from retrieval.tokenize import Tokenizer
from seeds import seed_paths

TAIPING = next(path for path in seed_paths() if path.name.startswith("002_"))
QUESTION = "太平镇有多少人民调解员？"


class FakeEncoder:
    """Character bigrams hashed (crc32) into ``dim`` buckets, L2-normalised; counts the passage texts it
    embeds, and apart from them the ledger rows' texts (``retrieval.ledger`` embeds each report's rows)."""

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
        from_ledger = sys._getframe(1).f_globals.get("__name__") == "retrieval.ledger"
        (self.ledger_calls if from_ledger else self.passage_calls).append(len(texts))
        return self._encode(texts)


def _config(index_dir: Path) -> EngineConfig:
    return EngineConfig(index_dir=index_dir, cache_dir=index_dir.parent / "cache")


def _manifest(index_dir: Path) -> dict:
    return json.loads((index_dir / "current" / "manifest.json").read_text(encoding="utf-8"))


def _passage_rows(index_dir: Path) -> list[dict]:
    lines = (index_dir / "current" / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _first_figure(engine: Engine, question: str) -> tuple[str, str] | None:
    figures = engine.ask(question).to_json()["figures"]
    return (figures[0]["text"], figures[0]["town"]) if figures else None


def _renamed_copy(folder: Path, town: str = "测试镇", *, mediators: str = "63名") -> Path:
    """The 太平镇 seed with the town renamed (and optionally the mediator count changed)."""
    text = TAIPING.read_text(encoding="utf-8").replace("太平镇", town).replace("调解员63名", f"调解员{mediators}")
    path = folder / f"{town}-{mediators}.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module", autouse=True)
def one_tokenizer() -> Iterator[Tokenizer]:
    """jieba loads its dictionaries for every Tokenizer (seconds each): the engines here share one."""
    tokenizer = Tokenizer()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(retrieval.engine, "Tokenizer", lambda: tokenizer)
        yield tokenizer


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """An index built from the seeds (never changed), and how many passage texts the build embedded."""
    index_dir = tmp_path_factory.mktemp("built") / "index"
    encoder = FakeEncoder()
    Engine.open(_config(index_dir), encoder=encoder)
    return index_dir, sum(encoder.passage_calls)


@pytest.fixture
def index_dir(built: tuple[Path, int], tmp_path: Path) -> Path:
    """A private copy of the built index."""
    copy = tmp_path / "index"
    shutil.copytree(built[0], copy, symlinks=True)
    return copy


def test_build_from_seeds(built: tuple[Path, int]) -> None:
    index_dir, embedded = built
    manifest = _manifest(index_dir)
    doc_ids = sorted(r["doc_id"] for r in manifest["reports"])
    assert (manifest["format"], manifest["model"], manifest["dim"]) == (store.FORMAT, "fake", 64)
    assert manifest["fingerprint"] == ",".join(doc_ids)
    towns = sorted(r["report"]["town"] for r in manifest["reports"])
    assert towns == ["中塘镇", "双塔镇", "太平镇", "官塘镇", "板溪镇"]
    rows = _passage_rows(index_dir)
    assert len(rows) == embedded == sum(r["report"]["passages"] for r in manifest["reports"])
    assert {row["doc"] for row in rows} == set(doc_ids)
    assert all(row["terms"] for row in rows)
    corpus = store.load(index_dir)
    assert corpus is not None and len(corpus.dense) == len(rows) and corpus.dense.dim == 64
    assert os.path.islink(index_dir / "current")
    assert store.current_version(index_dir) == corpus.version
    assert corpus.version.startswith("versions/v-")


def test_reopen_does_not_rebuild(index_dir: Path) -> None:
    version = store.current_version(index_dir)
    encoder = FakeEncoder()
    engine = Engine.open(_config(index_dir), encoder=encoder)
    assert encoder.passage_calls == [] and encoder.ledger_calls == []  # the ledger's vectors are kept too
    assert store.current_version(index_dir) == version
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


@pytest.mark.parametrize("encoder", [
    pytest.param(FakeEncoder(name="fake-2"), id="other-name"),
    pytest.param(FakeEncoder(name="fake", dim=32), id="other-dimension"),
])
def test_other_encoder_reembeds_the_same_passages(index_dir: Path, encoder: FakeEncoder) -> None:
    version, before = store.current_version(index_dir), _passage_rows(index_dir)
    engine = Engine.open(_config(index_dir), encoder=encoder)
    assert store.current_version(index_dir) != version
    assert (_manifest(index_dir)["model"], _manifest(index_dir)["dim"]) == (encoder.name, encoder.dim)
    assert _passage_rows(index_dir) == before
    assert encoder.passage_calls == [len(before)]
    assert len(encoder.ledger_calls) == 5 and len(engine.searcher.ledger.vectors[0]) == encoder.dim
    assert sum(encoder.ledger_calls) == len(engine.searcher.ledger.entries)
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


def test_add_report_embeds_only_its_passages(index_dir: Path, tmp_path: Path) -> None:
    before = _passage_rows(index_dir)
    encoder = FakeEncoder()
    engine = Engine.open(_config(index_dir), encoder=encoder)
    result = engine.add_report(_renamed_copy(tmp_path))
    assert (result.report.town, result.report.year, result.replaced) == ("测试镇", 2023, None)
    assert encoder.passage_calls == [result.report.passages] and result.report.passages > 10
    ledger = engine.searcher.ledger
    rows = [e for e in ledger.entries if engine.searcher.corpus.passages[e.row].doc_id == result.report.doc_id]
    assert encoder.ledger_calls == [len(rows)]  # only the new report's rows are embedded
    assert result.figures and result.figures[0].text
    after = _passage_rows(index_dir)
    assert after[:len(before)] == before
    assert len(after) == len(before) + result.report.passages
    assert len(engine.reports()) == 6
    assert _first_figure(engine, "测试镇有多少人民调解员？") == ("63名", "测试镇")
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


def test_added_report_is_kept_without_reembedding_on_reopen(index_dir: Path, tmp_path: Path) -> None:
    """The version written by add_report records the encoder it was embedded with, so the next start
    finds it current instead of re-embedding the whole corpus."""
    Engine.open(_config(index_dir), encoder=FakeEncoder()).add_report(_renamed_copy(tmp_path))
    assert _manifest(index_dir)["model"] == "fake"
    encoder = FakeEncoder()
    reopened = Engine.open(_config(index_dir), encoder=encoder)
    assert encoder.passage_calls == []
    assert len(reopened.reports()) == 6


def test_same_town_and_year_replaces_the_report(index_dir: Path, tmp_path: Path) -> None:
    encoder = FakeEncoder()
    engine = Engine.open(_config(index_dir), encoder=encoder)
    first = engine.add_report(_renamed_copy(tmp_path))
    second = engine.add_report(_renamed_copy(tmp_path, mediators="64名"))
    assert second.replaced is not None and second.replaced.doc_id == first.report.doc_id
    assert second.report.doc_id != first.report.doc_id
    assert encoder.passage_calls == [first.report.passages, second.report.passages]
    assert len(encoder.ledger_calls) == 2
    assert len(engine.reports()) == 6
    docs = {row["doc"] for row in _passage_rows(index_dir)}
    assert first.report.doc_id not in docs and second.report.doc_id in docs
    assert _first_figure(engine, "测试镇有多少人民调解员？") == ("64名", "测试镇")


def test_remove_report(index_dir: Path) -> None:
    engine = Engine.open(_config(index_dir), encoder=FakeEncoder())
    gone = engine.remove_report("太平镇", 2023)
    assert (gone.town, gone.year) == ("太平镇", 2023)
    rows = _passage_rows(index_dir)
    assert gone.doc_id not in {row["doc"] for row in rows}
    assert len(store.load(index_dir).dense) == len(rows)
    assert sorted(r.town for r in engine.reports()) == ["中塘镇", "双塔镇", "官塘镇", "板溪镇"]
    answer = engine.ask(QUESTION)
    assert answer.found is False and answer.to_json()["figures"] == []
    with pytest.raises(UnknownReportError):
        engine.remove_report("太平镇", 2023)
    encoder = FakeEncoder()
    assert len(Engine.open(_config(index_dir), encoder=encoder).reports()) == 4
    assert encoder.passage_calls == []


def test_other_engine_picks_up_a_new_version(index_dir: Path, tmp_path: Path) -> None:
    reader = Engine.open(_config(index_dir), encoder=FakeEncoder())
    writer = Engine.open(_config(index_dir), encoder=FakeEncoder())
    writer.add_report(_renamed_copy(tmp_path))
    assert _first_figure(reader, "测试镇有多少人民调解员？") == ("63名", "测试镇")


def test_lock_in_the_same_process(index_dir: Path) -> None:
    with store.lock(index_dir), pytest.raises(IndexBusyError), store.lock(index_dir, timeout=0.2):
        pass
    with store.lock(index_dir, timeout=0.2):
        pass


# --- a second process: a writer stalled (or killed) in the middle of writing a new version ----------


def _write_and_stall(point: str, index_dir: Path, report: Path, signal_fd: int) -> None:
    """In a forked child: add ``report``, stopping for good at ``point`` of the write (lock held)."""

    def stall() -> None:
        os.write(signal_fd, b"stalled")
        time.sleep(120)

    if point == "dense-save":
        real_save = DenseIndex.save

        def save(self: DenseIndex, path: Path) -> None:
            real_save(self, path)
            stall()

        DenseIndex.save = save  # type: ignore[method-assign]
    else:
        real_replace = os.replace

        def replace(src: str | Path, dst: str | Path) -> None:
            if (point == "version-rename" and Path(src).name.startswith(".tmp-")) or (
                    point == "current-swap" and Path(dst).name == "current"):
                stall()
            real_replace(src, dst)

        os.replace = replace
    Engine.open(_config(index_dir), encoder=FakeEncoder()).add_report(report)


@pytest.fixture
def stalled_writer(index_dir: Path, tmp_path: Path) -> Iterator[Callable[[str], int]]:
    """Fork a writer process that stops at ``point`` while writing a new version; returns its pid."""
    children: list[int] = []

    def start(point: str) -> int:
        report = _renamed_copy(tmp_path)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            try:
                os.close(read_fd)
                _write_and_stall(point, index_dir, report, write_fd)
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


def test_second_writer_is_refused_while_the_first_holds_the_lock(
        index_dir: Path, tmp_path: Path, stalled_writer: Callable[[str], int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    version = store.current_version(index_dir)
    stalled_writer("dense-save")
    with pytest.raises(IndexBusyError), store.lock(index_dir, timeout=0.3):
        pass
    monkeypatch.setattr(store, "lock", partial(store.lock, timeout=0.3))
    engine = Engine.open(_config(index_dir), encoder=FakeEncoder())
    with pytest.raises(IndexBusyError):
        engine.add_report(_renamed_copy(tmp_path, "别的镇"))
    with pytest.raises(IndexBusyError):
        engine.remove_report("太平镇", 2023)
    assert store.current_version(index_dir) == version
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")


@pytest.mark.parametrize("point", ["dense-save", "version-rename", "current-swap"])
def test_writer_killed_mid_write_leaves_the_previous_version(
        index_dir: Path, tmp_path: Path, stalled_writer: Callable[[str], int], point: str) -> None:
    version = store.current_version(index_dir)
    pid = stalled_writer(point)
    reader = Engine.open(_config(index_dir), encoder=FakeEncoder())  # readers never wait for the writer
    assert _first_figure(reader, QUESTION) == ("63名", "太平镇")
    _kill(pid)

    assert store.current_version(index_dir) == version
    leftovers = sorted(p.name for p in (index_dir / "versions").iterdir() if f"versions/{p.name}" != version)
    leftovers += sorted(p.name for p in index_dir.glob(".current-*"))
    assert leftovers, "the killed writer should have left a partial write behind"

    encoder = FakeEncoder()
    engine = Engine.open(_config(index_dir), encoder=encoder)
    assert encoder.passage_calls == []
    assert len(engine.reports()) == 5
    assert _first_figure(engine, QUESTION) == ("63名", "太平镇")

    engine.add_report(_renamed_copy(tmp_path))
    current = store.current_version(index_dir)
    assert current != version
    # The killed write's leftovers are gone; the version just replaced stays for readers mid-load.
    assert sorted(f"versions/{p.name}" for p in (index_dir / "versions").iterdir()) == sorted([current, version])
    assert list(index_dir.glob(".current-*")) == []
    assert _first_figure(Engine.open(_config(index_dir), encoder=FakeEncoder()), QUESTION) == ("63名", "太平镇")


def test_changed_report_file_is_reread_on_open(tmp_path: Path) -> None:
    """The index notices a report file that changed since it was indexed and re-reads only that one."""
    report = _renamed_copy(tmp_path, "青山镇")
    other = _renamed_copy(tmp_path, "白云镇")
    index_dir = tmp_path / "index"
    Engine.open(_config(index_dir), encoder=FakeEncoder(), rebuild_from=[report, other])
    report.write_text(report.read_text(encoding="utf-8").replace("调解员63名", "调解员64名"), encoding="utf-8")

    encoder = FakeEncoder()
    engine = Engine.open(_config(index_dir), encoder=encoder)
    assert _first_figure(engine, "青山镇有多少人民调解员？") == ("64名", "青山镇")
    assert _first_figure(engine, "白云镇有多少人民调解员？") == ("63名", "白云镇")
    assert len(engine.reports()) == 2
    assert encoder.passage_calls == [next(r.passages for r in engine.reports() if r.town == "青山镇")]
    assert len(encoder.ledger_calls) == 1

    encoder = FakeEncoder()
    Engine.open(_config(index_dir), encoder=encoder)
    assert encoder.passage_calls == [] and encoder.ledger_calls == []  # nothing changed since: nothing re-read


def test_changed_file_that_no_longer_reads_keeps_the_indexed_report(tmp_path: Path) -> None:
    report = _renamed_copy(tmp_path, "青山镇")
    index_dir = tmp_path / "index"
    Engine.open(_config(index_dir), encoder=FakeEncoder(), rebuild_from=[report])
    report.write_text("", encoding="utf-8")
    engine = Engine.open(_config(index_dir), encoder=FakeEncoder())
    assert _first_figure(engine, "青山镇有多少人民调解员？") == ("63名", "青山镇")

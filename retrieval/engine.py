"""The answer core: one object that owns the model and the index and answers questions.

``Engine.open`` opens the store (building it from the bundled seeds when empty) once; ``ask`` is
thread-safe and never writes; ``add_report``/``remove_report`` commit a change under the lock and swap in
a new snapshot, so readers keep answering from the old one until the commit is complete.
"""

import gc
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from embeddings import DEFAULT_MODEL, Encoder, load_encoder
from retrieval.answers.decide.decision import Decision
from retrieval.answers.decide.ledger import Ledger, kept_vectors
from retrieval.answers.decide.scope import ScopeConfig
from retrieval.answers.question.english import EnglishReader
from retrieval.answers.question.query import Query, understand
from retrieval.answers.question.towns import TownIndex
from retrieval.answers.reply import compose
from retrieval.answers.reply.answer import Answer
from retrieval.answers.reply.render import render
from retrieval.errors import ReportError
from retrieval.reports.documents import Report, read_override
from retrieval.reports.indexing import AddResult, Parsed, add_reports, changed_files, parse_file, reembed, remove_report
from retrieval.reports.ledger_rows import figure_rows
from retrieval.search.hybrid import Searcher
from retrieval.search.tokenize import Tokenizer
from retrieval.store import NewReport, Snapshot, Store, legacy, open_store
from seeds import seed_paths

log = logging.getLogger(__name__)
EXAMPLE = "太平镇有多少人民调解员？"


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Plain settings of the core (built from the environment by ``bot.settings.Settings``)."""

    index_dir: Path
    cache_dir: Path
    model: str = DEFAULT_MODEL
    query_prompt: str | None = None
    passage_prompt: str | None = None
    threads: int | None = 1
    store: str = ""  # empty: the embedded store in index_dir; else a Milvus URI or Milvus Lite file
    runtime: str = "auto"  # the default model's runtime: auto (ONNX when installed), onnx, torch
    scope: ScopeConfig = ScopeConfig()  # how questions over many units are answered (top N shown …)


class Engine:
    """Questions in, cited answers out."""

    def __init__(self, config: EngineConfig, encoder: Encoder, store: Store, searcher: Searcher) -> None:
        self.config = config
        self.encoder = encoder
        self.store = store
        self._searcher = searcher
        self._swap = threading.Lock()
        self._towns: tuple[Searcher, TownIndex] | None = None
        self._reader: tuple[Searcher, EnglishReader] | None = None

    @classmethod
    def open(cls, config: EngineConfig, *, encoder: Encoder | None = None, progress: bool = False,
             rebuild_from: Sequence[Path] = (), decision: Decision | None = None) -> "Engine":
        """Open the store, building or refreshing it first when it is missing or stale (an index of the
        older folder format is migrated); ``rebuild_from`` replaces everything with these report files;
        ``decision`` replaces the shipped fitted decision."""
        encoder = encoder or load_encoder(config.model, cache_dir=config.cache_dir, threads=config.threads,
                                          query_prompt=config.query_prompt, passage_prompt=config.passage_prompt,
                                          runtime=config.runtime)
        tokenizer = Tokenizer()
        store = open_store(config.index_dir, config.store)
        snapshot = store.snapshot()
        if snapshot is None or _stale(snapshot, encoder) or changed_files(snapshot) or rebuild_from:
            with store.lock():
                snapshot = _refresh(config, store, encoder, tokenizer, progress, rebuild_from)
        tokenizer.add_words(r.town for r in snapshot.reports.values())
        searcher = _searcher(config, snapshot, encoder, tokenizer, decision or Decision.load())
        engine = cls(config, encoder, store, searcher)
        engine.understand(EXAMPLE)  # what the first question would load (dictionaries, the towns' index), now
        _settle()
        return engine

    @property
    def searcher(self) -> Searcher:
        """The current snapshot; picks up a commit another process made."""
        version = self.store.version()
        if version and version != self._searcher.corpus.version:
            with self._swap:
                if version != self._searcher.corpus.version:
                    snapshot = self.store.snapshot()
                    if snapshot is not None and not _stale(snapshot, self.encoder):
                        self._install(snapshot)
        return self._searcher

    def _install(self, snapshot: Snapshot) -> None:
        tokenizer = self._searcher.tokenizer
        tokenizer.add_words(r.town for r in snapshot.reports.values())
        self._searcher = _searcher(self.config, snapshot, self.encoder, tokenizer, self._searcher.decision)
        _settle()

    def reports(self) -> list[Report]:
        return self.searcher.reports

    def understand(self, question: str, history: Sequence[str] = ()) -> Query:
        searcher = self.searcher
        return understand(question, history, self._town_index(searcher), searcher.tokenizer,
                          searcher.bm25.__contains__, self._english(searcher))

    def _town_index(self, searcher: Searcher) -> TownIndex:
        """The towns of the searcher's snapshot, indexed once per snapshot."""
        held = self._towns
        if held is None or held[0] is not searcher:
            held = self._towns = (searcher, TownIndex(searcher.towns))
            gc.freeze()  # lives as long as the snapshot, as what ``_settle`` froze
        return held[1]

    def _english(self, searcher: Searcher) -> EnglishReader:
        """The English reader of the searcher's snapshot (its word vectors cached per snapshot)."""
        held = self._reader
        if held is None or held[0] is not searcher:
            held = self._reader = (searcher, EnglishReader(searcher))
        return held[1]

    def ask(self, question: str, history: Sequence[str] = ()) -> Answer:
        """Answer ``question``; ``history`` holds the earlier questions of the conversation, oldest first."""
        searcher = self.searcher
        answer = respond(self.understand(question, history), searcher, self.config.scope)
        return replace(answer, question=question, text=render(answer))

    def add_report(self, path: Path, *, caption: str = "", keep_path: bool = False,
                   progress: bool = False) -> AddResult:
        """Parse, embed and index one report file; a report of the same town and year is replaced.
        A unit or year the caption states overrides the content's."""
        unit, year = read_override(caption)
        parsed = parse_file(path, hint=caption, keep_path=keep_path, unit=unit, year=year)
        return self.add_reports([parsed], progress=progress)[0]

    def add_reports(self, parsed: Sequence[Parsed], *, progress: bool = False) -> list[AddResult]:
        with self.store.lock():
            change = add_reports(self._latest(), parsed, encoder=self.encoder,
                                 tokenizer=self._searcher.tokenizer, progress=progress)
            self._commit(change.add, change.drop)
        self._searcher.ledger.prepare(r.report.doc_id for r in change.add)  # embedded once, now, not when asked
        return change.results

    def remove_report(self, town: str, year: int) -> Report:
        with self.store.lock():
            gone = remove_report(self._latest(), town, year)
            self._commit([], [gone.doc_id])
        return gone

    def _latest(self) -> Snapshot:
        """The committed state (under the lock): the installed snapshot unless another process wrote since."""
        current = self._searcher.corpus
        if self.store.version() == current.version:
            return current
        return self.store.snapshot() or current

    def _commit(self, add: Sequence[NewReport], drop: Sequence[str]) -> None:
        self.store.write(model=self.encoder.name, dim=self.encoder.dim, add=add, drop=drop)
        snapshot = self.store.snapshot()
        assert snapshot is not None
        with self._swap:
            self._install(snapshot)


def _searcher(config: EngineConfig, snapshot: Snapshot, encoder: Encoder, tokenizer: Tokenizer,
              decision: Decision) -> Searcher:
    ledger = Ledger(snapshot, encoder, config.index_dir / "ledger")
    return Searcher(snapshot, encoder, tokenizer, ledger, decision)


def _settle() -> None:
    """Keep the collector's full passes off what lives as long as the snapshot (its reports, vocabulary, the
    model): at 1M passages one pass over them costs ~170 ms, in the middle of some answer. The garbage of the
    snapshot before is collected first (frozen objects are never collected)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _stale(snapshot: Snapshot, encoder: Encoder) -> bool:
    return snapshot.model != encoder.name or snapshot.dim != encoder.dim


def _refresh(config: EngineConfig, store: Store, encoder: Encoder, tokenizer: Tokenizer, progress: bool,
             rebuild_from: Sequence[Path]) -> Snapshot:
    """Under the lock: build from ``rebuild_from`` (or migrate an older index, or build from the seeds) when
    there is nothing; re-embed for a new model; re-read changed report files."""
    snapshot = None if rebuild_from else store.snapshot()
    if snapshot is None and not rebuild_from and store.migrate(partial(figure_rows, words=tokenizer.tagged),
                                                               kept_vectors(config.index_dir / "ledger", encoder)):
        snapshot = _snapshot(store)  # a store of the previous format, its figure rows made again
    if snapshot is None:
        dropped = list(current.reports) if (current := store.snapshot()) else []
        migrated = None if rebuild_from else legacy.read(config.index_dir, encoder,
                                                         partial(figure_rows, words=tokenizer.tagged))
        if migrated is None:
            files = rebuild_from or seed_paths()
            log.info("building the index in %s from %d files", config.index_dir, len(files))
            migrated = add_reports(None, [parse_file(p) for p in files], encoder=encoder, tokenizer=tokenizer,
                                   progress=progress).add
        store.write(model=encoder.name, dim=encoder.dim, add=migrated, drop=dropped)
        legacy.remove(config.index_dir)
        return _snapshot(store)
    if _stale(snapshot, encoder):
        log.info("model changed (%s → %s): re-embedding", snapshot.model, encoder.name)
        store.write(model=encoder.name, dim=encoder.dim, add=reembed(snapshot, encoder=encoder, progress=progress))
        snapshot = _snapshot(store)
    reread: dict[str, Parsed] = {}
    for doc_id, path in changed_files(snapshot).items():
        try:
            reread[doc_id] = parse_file(path)
        except ReportError as error:  # keep what was indexed rather than lose the report
            log.warning("%s changed but cannot be read (%r); keeping the indexed version", path, error)
    if reread:
        log.info("re-reading changed report files: %s", ", ".join(r.report.source for r in reread.values()))
        change = add_reports(snapshot, list(reread.values()), encoder=encoder, tokenizer=tokenizer,
                             progress=progress, drop=list(reread))
        store.write(model=encoder.name, dim=encoder.dim, add=change.add, drop=change.drop)
        snapshot = _snapshot(store)
    return snapshot


def _snapshot(store: Store) -> Snapshot:
    snapshot = store.snapshot()
    assert snapshot is not None, "a store just written has a snapshot"
    return snapshot


def select_reports(query: Query, searcher: Searcher) -> list[Report]:
    """The reports a question is about: the towns it names (all when none), of the year it names."""
    if query.unknown_towns and not query.towns:
        return []
    selected = searcher.of_towns(query.towns) if query.towns else list(searcher.reports)
    if query.year is not None:
        same_year = [r for r in selected if r.year == query.year]
        return same_year if same_year or query.towns else selected
    return selected


def respond(query: Query, searcher: Searcher, config: ScopeConfig = compose.DEFAULT_SCOPE) -> Answer:
    """Route a question to the kind of answer it asks for, within the reports it names."""
    reports = searcher.reports
    if not re.search(r"\w", query.text):  # blank, emoji, punctuation only
        return compose.none_answer(query, searcher, [], [], f"没有看到问题。请用文字提问，例如“{EXAMPLE}”")
    if query.unknown_towns and not query.towns:
        lead = f"没有{'、'.join(query.unknown_towns)}的报告。现有报告：{_listed(reports)}。"
        return compose.none_answer(query, searcher, [], [], lead)
    selected = select_reports(query, searcher)
    if not selected:
        held = [r for r in reports if r.town in query.towns]
        lead = (f"没有{'、'.join(query.towns)}{query.year}年的报告（现有：{'、'.join(r.label for r in held)}），"
                "不用其他年份的数字代替。")
        return compose.none_answer(query, searcher, held, searcher.rank(query.search, searcher.rows(held)), lead)
    if query.report_date:
        return compose.answer_report_dates(query, searcher, selected, config)
    if query.kind == "example" and not query.cue:  # keywords ("太平镇 人民调解员"): a figure if one fits
        figure = compose.answer_figure(query, searcher, selected, config)
        if figure.found:
            return figure
    if query.kind == "example":
        return compose.answer_example(query, searcher, selected, config)
    if query.kind == "compare" and not query.quantity:
        return compose.compare_examples(query, searcher, selected, config)
    if query.parts:
        return compose.answer_parts(query, searcher, selected, config)
    return compose.answer_figure(query, searcher, selected, config)


LISTED = 20  # reports named when a question names a unit the corpus lacks


def _listed(reports: Sequence[Report]) -> str:
    """The corpus's reports by label, the first ``LISTED`` of many and how many there are."""
    labels = "、".join(r.label for r in reports[:LISTED])
    return labels if len(reports) <= LISTED else f"{labels}等{len(reports)}份"

"""The answer core: one object that owns the model and the index and answers questions.

``Engine.open`` loads (or builds, from the bundled seeds) the index once; ``ask`` is thread-safe and
never writes; ``add_report``/``remove_report`` write a new index version under the lock and swap it in,
so readers keep answering from the old snapshot until the new one is complete.
"""

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from embeddings import DEFAULT_MODEL, Encoder, load_encoder
from retrieval import compose, store
from retrieval.answer import Answer
from retrieval.documents import Report
from retrieval.errors import ReportError
from retrieval.indexing import AddResult, Parsed, add_reports, changed_files, parse_file, reembed, remove_report
from retrieval.query import Query, understand
from retrieval.render import render
from retrieval.search import Searcher
from retrieval.tokenize import Tokenizer
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
    runtime: str = "auto"  # the default model's runtime: auto (ONNX when installed), onnx, torch


class Engine:
    """Questions in, cited answers out."""

    def __init__(self, config: EngineConfig, encoder: Encoder, searcher: Searcher) -> None:
        self.config = config
        self.encoder = encoder
        self._searcher = searcher
        self._swap = threading.Lock()

    @classmethod
    def open(cls, config: EngineConfig, *, encoder: Encoder | None = None, progress: bool = False,
             rebuild_from: Sequence[Path] = ()) -> "Engine":
        """Load the index, building or refreshing it first when it is missing or stale;
        ``rebuild_from`` replaces the whole index with these report files."""
        encoder = encoder or load_encoder(config.model, cache_dir=config.cache_dir, threads=config.threads,
                                          query_prompt=config.query_prompt, passage_prompt=config.passage_prompt,
                                          runtime=config.runtime)
        tokenizer = Tokenizer()
        corpus = store.load(config.index_dir)
        if corpus is None or _stale(corpus, encoder) or changed_files(corpus) or rebuild_from:
            with store.lock(config.index_dir):
                current = None if rebuild_from else store.load(config.index_dir)
                corpus = _refresh(config, current, encoder, tokenizer, progress, rebuild_from or seed_paths())
        tokenizer.add_words(r.town for r in corpus.reports.values())
        return cls(config, encoder, Searcher(corpus, encoder, tokenizer))

    @property
    def searcher(self) -> Searcher:
        """The current snapshot; picks up a version another process wrote."""
        version = store.current_version(self.config.index_dir)
        if version and version != self._searcher.corpus.version:
            with self._swap:
                if version != self._searcher.corpus.version:
                    corpus = store.load(self.config.index_dir)
                    if corpus is not None and not _stale(corpus, self.encoder):
                        self._install(corpus)
        return self._searcher

    def _install(self, corpus: store.Corpus) -> None:
        tokenizer = self._searcher.tokenizer
        tokenizer.add_words(r.town for r in corpus.reports.values())
        self._searcher = Searcher(corpus, self.encoder, tokenizer)

    def reports(self) -> list[Report]:
        return self.searcher.reports

    def understand(self, question: str, history: Sequence[str] = ()) -> Query:
        searcher = self.searcher
        towns = sorted({r.town for r in searcher.reports})
        return understand(question, history, towns, searcher.tokenizer)

    def ask(self, question: str, history: Sequence[str] = ()) -> Answer:
        """Answer ``question``; ``history`` holds the earlier questions of the conversation, oldest first."""
        searcher = self.searcher
        answer = respond(self.understand(question, history), searcher)
        return replace(answer, question=question, text=render(answer))

    def add_report(self, path: Path, *, caption: str = "", keep_path: bool = False,
                   progress: bool = False) -> AddResult:
        """Parse, embed and index one report file; a report of the same town and year is replaced."""
        return self.add_reports([parse_file(path, hint=caption, keep_path=keep_path)], progress=progress)[0]

    def add_reports(self, parsed: Sequence[Parsed], *, progress: bool = False) -> list[AddResult]:
        with store.lock(self.config.index_dir):
            current = store.load(self.config.index_dir)
            corpus, results = add_reports(current, parsed, model=self.encoder.name, encoder=self.encoder,
                                          tokenizer=self._searcher.tokenizer, progress=progress)
            self._commit(corpus)
        return results

    def remove_report(self, town: str, year: int) -> Report:
        with store.lock(self.config.index_dir):
            current = store.load(self.config.index_dir) or self._searcher.corpus
            corpus, gone = remove_report(current, town, year)
            self._commit(corpus)
        return gone

    def _commit(self, corpus: store.Corpus) -> None:
        version = store.save(self.config.index_dir, corpus)
        with self._swap:
            self._install(replace(corpus, version=version))


def _stale(corpus: store.Corpus, encoder: Encoder) -> bool:
    return corpus.model != encoder.name or corpus.dense.dim != encoder.dim


def _refresh(config: EngineConfig, corpus: store.Corpus | None, encoder: Encoder, tokenizer: Tokenizer,
             progress: bool, files: Sequence[Path]) -> store.Corpus:
    """Build from ``files`` when there is no index; re-embed for a new model; re-read changed report files."""
    if corpus is None:
        log.info("building the index in %s from %d files", config.index_dir, len(files))
        corpus, _ = add_reports(None, [parse_file(p) for p in files], model=encoder.name,
                                encoder=encoder, tokenizer=tokenizer, progress=progress)
        return _save(config, corpus)
    dirty = _stale(corpus, encoder)
    if dirty:
        log.info("model changed (%s → %s): re-embedding", corpus.model, encoder.name)
        corpus = reembed(corpus, model=encoder.name, encoder=encoder, progress=progress)
    reread: dict[str, Parsed] = {}
    for doc_id, path in changed_files(corpus).items():
        try:
            reread[doc_id] = parse_file(path)
        except ReportError as error:  # keep what was indexed rather than lose the report
            log.warning("%s changed but cannot be read (%r); keeping the indexed version", path, error)
    if reread:
        log.info("re-reading changed report files: %s", ", ".join(r.report.source for r in reread.values()))
        corpus, _ = add_reports(corpus, list(reread.values()), model=encoder.name, encoder=encoder,
                                tokenizer=tokenizer, progress=progress, drop=list(reread))
    return _save(config, corpus) if dirty or reread else corpus


def _save(config: EngineConfig, corpus: store.Corpus) -> store.Corpus:
    return replace(corpus, version=store.save(config.index_dir, corpus))


def respond(query: Query, searcher: Searcher) -> Answer:
    """Route a question to the kind of answer it asks for, within the reports it names."""
    reports = searcher.reports
    known = "、".join(r.label for r in reports)
    if not re.search(r"\w", query.text):  # blank, emoji, punctuation only
        return compose.none_answer(query, searcher, [], [], f"没有看到问题。请用文字提问，例如“{EXAMPLE}”")
    if query.unknown_towns and not query.towns:
        lead = f"没有{'、'.join(query.unknown_towns)}的报告。现有报告：{known}。"
        return compose.none_answer(query, searcher, [], [], lead)
    selected = [r for r in reports if not query.towns or r.town in query.towns]
    if query.year is not None:
        same_year = [r for r in selected if r.year == query.year]
        if not same_year and query.towns:
            held = "、".join(r.label for r in selected)
            lead = f"没有{'、'.join(query.towns)}{query.year}年的报告（现有：{held}），不用其他年份的数字代替。"
            return compose.none_answer(query, searcher, selected, searcher.rank(query.text, searcher.rows(selected)),
                                       lead)
        selected = same_year or selected
    if query.english:
        hits = searcher.rank(query.text, searcher.rows(selected), lexical=False)
        lead = f"目前只能准确回答中文提问，请用中文再问一次（例如“{EXAMPLE}”）。"
        return compose.none_answer(query, searcher, selected, hits if query.towns else [], lead)
    if query.kind == "example" and not query.cue:  # keywords ("太平镇 人民调解员"): a figure if one fits
        figure = compose.answer_figure(query, searcher, selected)
        if figure.found:
            return figure
    if query.kind == "example":
        return compose.answer_example(query, searcher, selected)
    if query.kind == "compare" and not query.quantity:
        return compose.compare_examples(query, searcher, selected)
    if query.parts:
        return compose.answer_parts(query, searcher, selected)
    return compose.answer_figure(query, searcher, selected)

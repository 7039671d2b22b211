"""`fazhi bench --scale N`: a synthetic corpus of N passages, built once and cached, and what a store does
with it (printed or JSON, never asserted in tests).

The corpus is the seeds over and over under made-up unit names (每份报告一个新镇名): the passage text with
the town renamed, its BM25 terms, and the seed passage's real embedding with a small random perturbation
(cosine ≈ 0.95 to the original), so building a million passages costs minutes, not days of embedding.

Measured per store, in a fresh process (so that the build does not count): open time; per question kind the
p50/p95 of ``understand`` and of the whole answer (``engine.respond``: one candidates call per retriever for a
question over many units, the per-report decision where they fall), query embedding excluded (done before
timing) and the ledger rows embedded on a report's first use timed apart (``_answer_times``);
recall@10 of the dense search against an exact one; size on disk; peak RSS; time to add one report
(parse, embed with the real model, commit).
"""

import itertools
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder
from retrieval.answers.decide.ledger import entry, kept_vectors, vector_key
from retrieval.engine import Engine, EngineConfig, respond
from retrieval.reports.documents import Passage, Report
from retrieval.reports.indexing import parse_file, passage_terms
from retrieval.reports.ledger_rows import figure_rows
from retrieval.search.tokenize import Tokenizer
from retrieval.store import FigureRow, NewReport, Origin, open_store
from retrieval.tools.bench import TimedEncoder
from seeds import seed_paths

log = logging.getLogger(__name__)
NOISE = 0.017  # per dimension; with 384 dimensions a copy keeps cosine ≈ 0.95 to its seed passage
BATCH_ROWS = 50_000
_CHARS = "安宝北碧长城春崇大德东丰凤福富港高古广和河红宏华黄惠吉嘉江金锦景康兰乐利莲临龙隆鹿茂梅美明南宁平浦" \
         "青清庆仁荣瑞三山上石寿顺松太泰桃天田通万望文五西仙祥新兴杏阳永玉元云枣泽正中竹"
QUESTIONS = {  # kind → question templates ({a}, {b}: towns of the corpus)
    "town": ["{a}有多少人民调解员？", "{a}化解了多少矛盾纠纷？"],
    "town_year": ["{a}{year}年开展了多少场普法宣传活动？"],
    "no_town": ["有多少人民调解员？", "哪个镇的调解员最多？"],
    "compare": ["{a}和{b}的人民调解员分别有多少？"],
    "example": ["给我讲一个{a}基层自治的做法"],
}


def town_names(avoid: set[str]) -> Iterator[str]:
    """Made-up unit names: two, then three characters + 镇, none of them a real seed town."""
    for size in (2, 3):
        for chars in itertools.product(_CHARS, repeat=size):
            name = "".join(chars) + "镇"
            if name not in avoid:
                yield name


def corpus_dir(cache_dir: Path, n: int) -> Path:
    return cache_dir / "scale" / f"embedded-{n}"


def build(folder: Path, n: int, encoder: Encoder) -> None:
    """Write N synthetic passages into an embedded store at ``folder`` (once: skipped when complete)."""
    store = open_store(folder)
    tokenizer = Tokenizer()
    if store.version() is None:  # a corpus of a previous store format: migrated, not built again
        with store.lock():
            store.migrate(partial(figure_rows, words=tokenizer.tagged), kept_vectors(folder / "ledger", encoder))
    if store.version() is not None:
        return
    seeds = [parse_file(p) for p in seed_paths()]
    vectors = [encoder.encode_passages([f"{s.report.title}\n{p.clean}" for p in s.passages]) for s in seeds]
    terms = [[_without(passage_terms(tokenizer, s.report, p), tokenizer.index_terms(s.report.town)) for p in s.passages]
             for s in seeds]
    ledger = _LedgerRows(seeds, encoder, tokenizer)
    rng = np.random.default_rng(0)
    names = town_names({s.report.town for s in seeds})
    batch: list[NewReport] = []
    rows = written = 0
    started = time.perf_counter()
    with store.lock():
        for i in itertools.count():
            if rows >= n:
                break
            k = i % len(seeds)
            seed, town = seeds[k], next(names)
            batch.append(_renamed(seed, town, terms[k], vectors[k], tokenizer, rng, n - rows))
            batch[-1] = ledger.rows(k, batch[-1], rng)
            rows += len(batch[-1].passages)
            if rows - written >= BATCH_ROWS or rows >= n:
                store.write(model=encoder.name, dim=encoder.dim, add=batch, compacting=rows >= n)
                written, batch = rows, []
                log.info("scale corpus: %d passages (%.0f s)", rows, time.perf_counter() - started)


class _LedgerRows:
    """The figure rows of renamed reports and their ledger vectors (the seed rows' real vectors perturbed,
    stored with the report), so that the corpus answers as if every report had been indexed.

    Rows are extracted once per seed and length of the new name (a name of the seed town's length leaves every
    position where it was); the vectors are embedded once per seed."""

    def __init__(self, seeds: list[Any], encoder: Encoder, tokenizer: Tokenizer) -> None:
        self._seeds, self._encoder, self._tokenizer = seeds, encoder, tokenizer
        self._rows: dict[tuple[int, int], tuple[str, list[FigureRow]]] = {}
        self._vectors = [encoder.encode_passages([e.context for e in _entries(s.passages, figure_rows(
            s.passages, tokenizer.tagged))]) for s in seeds]

    def rows(self, k: int, item: NewReport, rng: np.random.Generator) -> NewReport:
        seed, town = self._seeds[k], item.report.town
        key = (k, len(town))
        if key not in self._rows:
            whole = [replace(p, text=p.text.replace(seed.report.town, town)) for p in seed.passages]
            self._rows[key] = (town, figure_rows(whole, self._tokenizer.tagged))
        first, made = self._rows[key]
        rows = [r if first == town else replace(r, figure=replace(r.figure, subject=r.figure.subject.replace(
            first, town)), after=r.after.replace(first, town)) for r in made if r.offset < len(item.passages)]
        base = self._vectors[k][:len(rows)]
        noisy = base + rng.normal(0, NOISE, base.shape).astype(np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        key = vector_key([e.context for e in _entries(item.passages, rows)], self._encoder)
        return replace(item, figures=rows, ledger_key=key, ledger_vectors=np.ascontiguousarray(noisy, np.float32))


def _entries(passages: Sequence[Passage], rows: list[FigureRow]) -> list[Any]:
    return [entry(0, passages[r.offset], r) for r in rows]


def _without(terms: list[str], town_terms: list[str]) -> list[str]:
    drop = set(town_terms)
    return [t for t in terms if t not in drop]


def _renamed(seed: Any, town: str, terms: list[list[str]], vectors: np.ndarray, tokenizer: Tokenizer,
             rng: np.random.Generator, room: int) -> NewReport:
    old = seed.report.town
    passages = [replace(p, text=p.text.replace(old, town)) for p in seed.passages][:room]
    report: Report = replace(seed.report, doc_id=f"scale-{town}-{seed.report.year}", town=town,
                             title=seed.report.title.replace(old, town), source=f"synthetic/{town}",
                             passages=len(passages))
    extra = tokenizer.index_terms(town)
    noisy = vectors[:len(passages)] + rng.normal(0, NOISE, (len(passages), vectors.shape[1])).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return NewReport(report, Origin(None, ""), passages, [extra + t for t in terms[:len(passages)]], noisy)


def run_scale(config: EngineConfig, n: int, *, stores: tuple[str, ...] = ("embedded",)) -> dict[str, Any]:
    """Build (once) and measure; each store is measured in its own process."""
    from embeddings import load_encoder

    encoder = load_encoder(config.model, cache_dir=config.cache_dir, threads=config.threads)
    out: dict[str, Any] = {"passages": n}
    for name in stores:
        folder = corpus_dir(config.cache_dir, n) if name == "embedded" else config.cache_dir / "scale" / f"milvus-{n}"
        started = time.perf_counter()
        build(corpus_dir(config.cache_dir, n), n, encoder)  # Milvus copies it in the measuring process
        out.setdefault("build_s", {})[name] = round(time.perf_counter() - started, 1)
        child = subprocess.run([sys.executable, "-m", "retrieval.tools.scale", str(folder), name, json.dumps({
            "cache_dir": str(config.cache_dir), "model": config.model, "exact": str(corpus_dir(config.cache_dir, n))})],
            capture_output=True, text=True)
        if child.returncode != 0:
            raise RuntimeError(child.stderr[-2000:])
        out[name] = json.loads(child.stdout)
    return out


def measure(folder: Path, store: str, settings: dict[str, str]) -> dict[str, Any]:
    """In a fresh process: open the store, time questions, recall, size, add one report, peak RSS."""
    from embeddings import load_encoder

    encoder = load_encoder(settings["model"], cache_dir=Path(settings["cache_dir"]), threads=1)
    location = str(folder / "milvus.db") if store == "milvus" else ""
    copy_s = 0.0
    if store == "milvus":  # a Milvus Lite file is open in one process at a time: copy here
        from retrieval.store.milvus import copy_into

        started = time.perf_counter()
        copy_into(Path(settings["exact"]), folder / "milvus.db")
        copy_s = time.perf_counter() - started
    config = EngineConfig(index_dir=folder, cache_dir=Path(settings["cache_dir"]), model=settings["model"],
                          store=location)
    started = time.perf_counter()
    snapshot = open_store(folder, location).snapshot()
    open_s = time.perf_counter() - started
    started = time.perf_counter()
    timed = TimedEncoder(encoder)
    engine = Engine.open(config, encoder=timed)  # includes loading the model and jieba's dictionaries
    engine_open_s = time.perf_counter() - started
    towns = [r.town for r in engine.searcher.reports]
    times = _answer_times(engine, timed)
    result = {
        "copy_s": round(copy_s, 1),
        "open_s": round(open_s, 3),
        "engine_open_s": round(engine_open_s, 2),
        "reports": len(towns),
        **times,
        "peak_rss_mb_answering": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "recall_at_10": _recall(snapshot, encoder, open_store(Path(settings["exact"])).snapshot()),
        "disk_mb": round(_size(folder) / 2**20, 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        extra = _extra_report(Path(tmp))
        passages = parse_file(extra).passages
        started = time.perf_counter()
        encoder.encode_passages([p.clean for p in passages])
        result["embed_one_report_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        engine.add_report(extra)
        result["add_report_s"] = round(time.perf_counter() - started, 2)
    result["peak_rss_mb_with_recall_and_add"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def _answer_times(engine: Engine, timed: TimedEncoder) -> dict[str, dict[str, dict[str, float]]]:
    """p50/p95 per question kind of: ``understand``; the whole answer (``engine.respond``: candidates, the
    per-report decision, composing) the first time, less the ledger rows it embeds for reports it touches for
    the first time (``ledger_embed_ms``, timed apart); the same answer again (``answer_warm_ms``); both also in
    CPU time of this process (``answer_cpu_ms``, ``answer_warm_cpu_ms``: the machine is shared, wall time
    includes waiting for a core). The query embedding is made before timing."""
    searcher = engine.searcher
    towns = [r.town for r in searcher.reports]
    years = {r.town: r.year for r in searcher.reports}
    rng = np.random.default_rng(1)
    times: dict[str, dict[str, list[float]]] = {}
    for kind, templates in QUESTIONS.items():
        for _ in range(20):
            a, b = rng.choice(towns, 2, replace=False)
            question = str(rng.choice(templates)).format(a=a, b=b, year=years[a])
            searcher._query(engine.understand(question).search)  # the query embedding is not timed
            started = time.perf_counter()
            query = engine.understand(question)
            understood = time.perf_counter()
            timed.passage_ms.clear()
            cpu = time.process_time()
            respond(query, searcher, engine.config.scope)
            done, cpu_done = time.perf_counter(), time.process_time()
            embed_ms = sum(timed.passage_ms)
            respond(query, searcher, engine.config.scope)
            again, cpu_again = time.perf_counter(), time.process_time()
            for name, ms in (("understand_ms", (understood - started) * 1000),
                             ("answer_ms", (done - understood) * 1000 - embed_ms), ("ledger_embed_ms", embed_ms),
                             ("answer_warm_ms", (again - done) * 1000),
                             ("answer_cpu_ms", (cpu_done - cpu) * 1000 - embed_ms),
                             ("answer_warm_cpu_ms", (cpu_again - cpu_done) * 1000)):
                times.setdefault(name, {}).setdefault(kind, []).append(ms)
    return {name: _percentiles(kinds) for name, kinds in times.items()}


def _recall(snapshot: Any, encoder: Encoder, exact: Any) -> float:
    """Share of the exact top 10 that the store's dense search returns, over questions and perturbed passages
    (``exact``: the embedded snapshot of the same corpus, whose vector file gives the exact answer)."""
    everything = np.flatnonzero(exact.alive)
    asked = encoder.encode_queries([t.format(a="", b="", year="") for ts in QUESTIONS.values() for t in ts])
    rng = np.random.default_rng(2)
    near = np.asarray(exact.vectors[np.sort(rng.choice(everything, 40, replace=False))])
    near = near + rng.normal(0, NOISE, near.shape).astype(np.float32)
    queries = np.vstack([asked, near / np.linalg.norm(near, axis=1, keepdims=True)]).astype(np.float32)
    truth = _exact_top(exact.vectors, queries, everything)
    found = [len(set(snapshot.dense_top(q, 10, None).tolist()) & set(t.tolist())) / 10
             for q, t in zip(queries, truth, strict=True)]
    return round(float(np.mean(found)), 3)


def _exact_top(vectors: np.ndarray, queries: np.ndarray, rows: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    """The exact top 10 of every query over many rows, a chunk of rows at a time, read from the vector file
    with plain reads rather than through its memory map (mapped pages would stay in this process's resident
    memory: the whole file, 1.5 GB at 1M rows)."""
    import faiss

    sims = np.full((len(queries), 10), -np.inf, np.float32)
    ids = np.full((len(queries), 10), -1, np.int64)
    for lo in range(0, len(rows), chunk):
        part = rows[lo:lo + chunk]
        s, i = faiss.knn(queries, _read_rows(vectors, part), 10, metric=faiss.METRIC_INNER_PRODUCT)
        sims, ids = np.hstack([sims, s]), np.hstack([ids, part[i]])
        best = np.argsort(-sims, axis=1, kind="stable")[:, :10]
        sims, ids = np.take_along_axis(sims, best, 1), np.take_along_axis(ids, best, 1)
    return ids


def _read_rows(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``vectors[rows]`` (rows ascending) as a fresh array: read from the file behind a memory map."""
    path = getattr(vectors, "filename", None)
    if path is None or not len(rows):
        return np.ascontiguousarray(vectors[rows], dtype=np.float32)
    lo, hi, dim = int(rows[0]), int(rows[-1]) + 1, vectors.shape[1]
    start = int(getattr(vectors, "offset", 0)) + lo * dim * 4
    block = np.fromfile(path, np.float32, count=(hi - lo) * dim, offset=start)
    return np.ascontiguousarray(block.reshape(hi - lo, dim)[rows - lo])


def _extra_report(folder: Path) -> Path:
    source = seed_paths()[1]
    text = source.read_text(encoding="utf-8")
    report = parse_file(source).report
    path = folder / "bench-extra.txt"
    path.write_text(text.replace(report.town, "测试镇"), encoding="utf-8")
    return path


def _percentiles(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {k: {"p50": round(statistics.median(v), 1), "p95": round(_p95(v), 1)} for k, v in times.items()}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    print(json.dumps(measure(Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]))))

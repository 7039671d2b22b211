"""`fazhi bench`: figures for speed and memory (printed, never asserted in tests).

- runtime: the encoder that made the figures (model name, ``@onnx-int8`` on ONNX Runtime);
- build_passages_per_s (build_s, build_cpu_s): indexing the bundled seeds from scratch (parse, BM25 terms,
  embeddings), wall and CPU time of this process;
- add_report_s: adding one more report to an index of the seeds (only its passages are embedded);
- answer_ms_p50 / _p95 / _max: warm answers to the gold questions, query embedding included; the search's
  per-text cache is cleared before each, so no answer is a cache hit;
- query_embed_ms_p50 / _p95 and answer_rest_ms_p50: the same answers split into the query's embedding
  and everything else;
- cold_start_s (= cold_ask_s, the median of cold_ask_runs): fresh `fazhi ask` processes, index built,
  until the answer is printed; cold_ask_rss_mb: their peak resident memory;
- serve_rss_start_mb / serve_rss_after_mb: a process built like `fazhi serve` (``serve_command``), after
  its first answer and after serve_questions more;
- peak_rss_mb: this process's peak resident memory.
"""

import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import Encoder, load_encoder
from retrieval.engine import Engine, EngineConfig
from seeds import seed_paths

FALLBACK_QUESTIONS = ["太平镇有多少人民调解员？", "中塘镇2021年化解了多少矛盾纠纷？", "哪个镇的调解员最多？",
                      "给我讲一个板溪镇基层自治的做法", "太平镇有多少公务员？"]
COLD_RUNS = 3
# A child's own peak memory: ru_maxrss of a child also counts the parent's pages it was forked with.
_WITH_PEAK = ("import runpy, sys; sys.argv[0] = 'fazhi'\n"
              "try: runpy.run_module('bot', run_name='__main__')\n"
              "except SystemExit: pass\n"
              "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1], file=sys.stderr)")


class TimedEncoder:
    """An encoder that notes how long each query embedding (and each passage batch) took."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.query_ms: list[float] = []
        self.passage_ms: list[float] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.inner.encode_queries(texts)
        self.query_ms.append((time.perf_counter() - started) * 1000)
        return vectors

    def encode_passages(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.inner.encode_passages(texts, progress=progress)
        self.passage_ms.append((time.perf_counter() - started) * 1000)
        return vectors


def _questions(path: Path | None) -> list[tuple[str, list[str]]]:
    """The questions to time: a gold file's (follow-ups with their context), else a small built-in set."""
    if path is not None and path.exists():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [(row["question"], row.get("context") or []) for row in rows]
    return [(q, []) for q in FALLBACK_QUESTIONS]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _extra_report(folder: Path) -> Path:
    """A seed report under another town's name: a realistic report that is not yet in the index."""
    source = seed_paths()[0]
    text = source.read_text(encoding="utf-8")
    town = re.search(r"[\u4e00-\u9fff]{2}镇", text)
    assert town is not None
    path = folder / "bench_extra.txt"
    path.write_text(text.replace(town.group(), "测试镇"), encoding="utf-8")
    return path


def _uncached_ask(engine: Engine, question: str, history: list[str]) -> None:
    """One answer with the search's per-text cache emptied first (a warm process, a new question)."""
    cache = getattr(engine.searcher, "_query", None)
    if cache is not None and hasattr(cache, "cache_clear"):
        cache.cache_clear()
    engine.ask(question, history)


def _answers(engine: Engine, encoder: TimedEncoder, asked: list[tuple[str, list[str]]],
             rounds: int) -> dict[str, Any]:
    _uncached_ask(engine, *asked[0])
    total, embed = [], []
    for _ in range(rounds):
        for question, history in asked:
            encoder.query_ms.clear()
            started = time.perf_counter()
            _uncached_ask(engine, question, history)
            total.append((time.perf_counter() - started) * 1000)
            embed.append(sum(encoder.query_ms))
    singles = [ms for ms in embed if ms > 0]
    return {
        "answers": len(total),
        "answer_ms_p50": round(statistics.median(total), 1),
        "answer_ms_p95": round(_percentile(total, 0.95), 1),
        "answer_ms_max": round(max(total), 1),
        "query_embed_ms_p50": round(statistics.median(singles), 1) if singles else 0.0,
        "query_embed_ms_p95": round(_percentile(singles, 0.95), 1) if singles else 0.0,
        "answer_rest_ms_p50": round(statistics.median(t - e for t, e in zip(total, embed, strict=True)), 1),
    }


def _cold_asks(index_dir: Path, questions: list[str]) -> dict[str, Any]:
    runs, peaks = [], []
    for question in questions[:COLD_RUNS]:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _WITH_PEAK, "ask", "--index-dir", str(index_dir), question],
                              check=True, capture_output=True, text=True)
        runs.append(round(time.perf_counter() - started, 2))
        peaks.append(int(done.stderr.strip().splitlines()[-1]) / 1024)
    return {"cold_start_s": statistics.median(runs), "cold_ask_s": statistics.median(runs), "cold_ask_runs": runs,
            "cold_ask_rss_mb": round(max(peaks), 1)}


def _serving(command: Sequence[str], index_dir: Path, questions: Path | None) -> dict[str, Any]:
    if not command or questions is None or not questions.exists():
        return {}
    out = subprocess.run([*command, "--index-dir", str(index_dir), "--questions", str(questions)],
                         check=True, capture_output=True, text=True)
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def run_bench(config: EngineConfig, *, rounds: int = 3, questions: Path | None = None,
              serve_command: Sequence[str] = ()) -> dict[str, Any]:
    """All figures; ``serve_command`` starts a process built like the bot that prints its memory as JSON."""
    with tempfile.TemporaryDirectory(prefix="fazhi-bench-") as tmp:
        index_dir = Path(tmp) / "index"
        bench_config = replace(config, index_dir=index_dir)
        encoder = TimedEncoder(load_encoder(config.model, cache_dir=config.cache_dir, threads=config.threads,
                                            query_prompt=config.query_prompt, passage_prompt=config.passage_prompt,
                                            runtime=config.runtime))
        Engine.open(bench_config, encoder=encoder)  # loads the model (exports it on first use)
        shutil.rmtree(index_dir)

        started, cpu = time.perf_counter(), time.process_time()
        engine = Engine.open(bench_config, encoder=encoder)
        build_s, build_cpu = time.perf_counter() - started, time.process_time() - cpu
        passages = sum(r.passages for r in engine.reports())

        started = time.perf_counter()
        engine.add_report(_extra_report(Path(tmp)))
        add_s = time.perf_counter() - started
        engine.remove_report("测试镇", engine.reports()[0].year)

        asked = _questions(questions)
        figures = {
            "runtime": encoder.name,
            "build_passages": passages,
            "build_s": round(build_s, 2),
            "build_cpu_s": round(build_cpu, 2),
            "build_passages_per_s": round(passages / build_s, 1),
            "add_report_s": round(add_s, 2),
            **_answers(engine, encoder, asked, rounds),
            **_cold_asks(index_dir, [q for q, history in asked if not history]),
            **_serving(serve_command, index_dir, questions),
        }
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures

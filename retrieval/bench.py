"""`fazhi bench`: figures for speed and memory (printed, never asserted in tests).

- cold_start_s: a fresh `fazhi ask` process, index already built, until its answer is printed;
- build_passages_per_s: indexing the bundled seeds from scratch (parse, BM25 terms, embeddings);
- add_report_s: adding one more report to an index of the seeds (only its passages are embedded);
- answer_ms_p50 / answer_ms_p95: warm answers to the gold questions (query embedding included);
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
from dataclasses import replace
from pathlib import Path
from typing import Any

from retrieval.engine import Engine, EngineConfig
from seeds import seed_paths

FALLBACK_QUESTIONS = ["太平镇有多少人民调解员？", "中塘镇2021年化解了多少矛盾纠纷？", "哪个镇的调解员最多？",
                      "给我讲一个板溪镇基层自治的做法", "太平镇有多少公务员？"]


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


def run_bench(config: EngineConfig, *, rounds: int = 3, questions: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fazhi-bench-") as tmp:
        index_dir = Path(tmp) / "index"
        bench_config = replace(config, index_dir=index_dir)
        engine = Engine.open(bench_config)  # loads the model (and materialises it on first use)
        shutil.rmtree(index_dir)

        started = time.perf_counter()
        engine = Engine.open(bench_config)
        build_s = time.perf_counter() - started
        passages = sum(r.passages for r in engine.reports())

        started = time.perf_counter()
        engine.add_report(_extra_report(Path(tmp)))
        add_s = time.perf_counter() - started
        engine.remove_report("测试镇", engine.reports()[0].year)

        latencies = []
        asked = _questions(questions)
        engine.ask(*asked[0])
        for _ in range(rounds):
            for question, history in asked:
                started = time.perf_counter()
                engine.ask(question, history)
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "ask", "--index-dir", str(index_dir), asked[0][0]],
                       check=True, capture_output=True)
        cold_s = time.perf_counter() - started

    return {
        "cold_start_s": round(cold_s, 2),
        "build_passages": passages,
        "build_s": round(build_s, 2),
        "build_passages_per_s": round(passages / build_s, 1),
        "add_report_s": round(add_s, 2),
        "answers": len(latencies),
        "answer_ms_p50": round(statistics.median(latencies), 1),
        "answer_ms_p95": round(_percentile(latencies, 0.95), 1),
        "answer_ms_max": round(max(latencies), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }

"""`python -m bot.memory`: resident memory of a serving bot, at start and after answering many questions.

Builds what `fazhi serve` builds (the engine, and the Telegram application with all its handlers, without
connecting), then answers the questions of a gold file, cycled to ``--count``, on worker threads as the
handlers do. Prints one JSON object; `fazhi bench` runs it in a fresh process.
"""

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from bot.settings import Settings
from retrieval.engine import Engine

DUMMY_TOKEN = "123456:memory-probe"  # never sent: the application is built, not started
WORKERS = 4


def rss_mb(field: str = "VmRSS") -> float:
    """Resident set size now (``VmRSS``) or at its peak (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def probe(settings: Settings, questions: list[str], count: int) -> dict[str, float | int]:
    from bot.app import build_application

    engine = Engine.open(settings.engine_config())
    build_application(settings, engine)
    engine.ask(questions[0])  # the first answer loads what is loaded lazily
    start = rss_mb()
    asked = [questions[i % len(questions)] for i in range(count)]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(engine.ask, asked))
    return {"serve_rss_start_mb": start, "serve_rss_after_mb": rss_mb(), "serve_questions": count,
            "serve_peak_rss_mb": rss_mb("VmHWM")}  # not ru_maxrss: it counts the parent's pages at fork


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--questions", type=Path, required=True, help="questions.jsonl")
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    settings = replace(Settings.from_env(), telegram_token=DUMMY_TOKEN)
    if args.index_dir:
        settings = replace(settings, index_dir=args.index_dir)
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    print(json.dumps(probe(settings, questions, args.count)))


if __name__ == "__main__":
    main()

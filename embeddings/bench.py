"""Measure query latency and passage throughput per torch thread count.

    python -m embeddings.bench --cache-dir ~/.cache/fazhi [--model NAME] [--repeats 100]

Run it on an otherwise idle machine; numbers from a 2-core VM are in ``embeddings/encoder.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from embeddings.encoder import DEFAULT_MODEL, SentenceTransformerEncoder, available_cpus, load_encoder

QUESTIONS = [
    "本镇2023年共调解矛盾纠纷多少件？",
    "法治政府建设领导小组组长是谁？",
    "全镇村法律顾问覆盖率是多少？",
    "普法宣传活动一共开展了几场次？",
    "行政复议和行政诉讼案件有多少件？",
]
PARAGRAPH = (
    "（一）加强组织领导。2023年，我镇坚持把法治政府建设摆在全局工作的重要位置，成立了以镇党委书记为组长、"
    "镇长为副组长的法治政府建设工作领导小组，全年召开专题会议4次，研究解决法治建设重大问题12个。"
    "（二）推进依法决策。严格落实重大行政决策程序，全年共作出重大行政决策3项，合法性审查率100％。"
    "（三）深化普法宣传。开展“法律进村居”活动56场次，发放宣传资料1.2万余份，培育“法律明白人”218名，"
    "村（居）法律顾问覆盖率达100％。（四）化解矛盾纠纷。全镇共排查调处矛盾纠纷１２３件，调解成功率达"
    "９８．５％，未发生因调处不当引发的民转刑案件。（五）主动接受人大、政协和社会监督，依法公开政府信息。"
)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(path: str, threads: int, repeats: int) -> str:
    encoder = SentenceTransformerEncoder(path, threads=threads)
    encoder.load()
    for q in QUESTIONS:  # warm-up
        encoder.encode_queries([q])
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        encoder.encode_queries([QUESTIONS[i % len(QUESTIONS)]])
        times.append((time.perf_counter() - start) * 1000)
    passages = [PARAGRAPH[: 400 - 25 * (i % 8)] for i in range(48)]
    start = time.perf_counter()
    encoder.encode_passages(passages)
    rate = len(passages) / (time.perf_counter() - start)
    return (
        f"threads={threads}: query p50 {_percentile(times, 0.5):.1f} ms, p90 {_percentile(times, 0.9):.1f} ms; "
        f"passages (~{len(PARAGRAPH)} chars, {encoder.parallelism} parallel) {rate:.1f}/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "fazhi")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    encoder = load_encoder(args.model, cache_dir=args.cache_dir)
    assert isinstance(encoder, SentenceTransformerEncoder), "benchmark a real model, not the hash encoder"
    for threads in range(1, available_cpus() + 1):
        print(bench(encoder.model, threads, args.repeats))


if __name__ == "__main__":
    main()

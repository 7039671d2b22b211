"""Measure query latency and passage throughput of the default model, per runtime, threads and batching.

    python -m embeddings.bench --cache-dir ~/.cache/fazhi [--runtime onnx|torch] [--repeats 60]

Prints one line per setting; rounds interleave the settings, so a noisy machine shifts them alike.
Figures from the 2-core VM are in ``embeddings/onnx.py`` and ``embeddings/encoder.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from embeddings.encoder import DEFAULT_MODEL, RUNTIME_ONNX, RUNTIME_TORCH, Encoder, available_cpus, load_encoder

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
PASSAGES = [PARAGRAPH[: 400 - 37 * (i % 9)] for i in range(36)]  # ~80-260 tokens, like the reports'


def query_ms(encoder: Encoder, repeats: int) -> float:
    """Median ms of one query; each text differs (a suffix), so no cache in any layer can answer it."""
    times = []
    for i in range(repeats):
        text = f"{QUESTIONS[i % len(QUESTIONS)]}（{i}）"
        started = time.perf_counter()
        encoder.encode_queries([text])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def passages_per_s(encoder: Encoder) -> float:
    started = time.perf_counter()
    encoder.encode_passages(PASSAGES)
    return len(PASSAGES) / (time.perf_counter() - started)


def _settings(runtime: str, cache_dir: Path) -> dict[str, Callable[[], Encoder]]:
    cpus = available_cpus()
    if runtime == RUNTIME_TORCH:
        return {f"torch threads={t}": (lambda t=t: load_encoder(DEFAULT_MODEL, cache_dir=cache_dir, threads=t,
                                                                 runtime=RUNTIME_TORCH)) for t in range(1, cpus + 1)}
    from embeddings.onnx import OnnxEncoder

    base = load_encoder(DEFAULT_MODEL, cache_dir=cache_dir, runtime=RUNTIME_ONNX)
    assert isinstance(base, OnnxEncoder)
    out: dict[str, Callable[[], Encoder]] = {}
    for threads, workers in ((1, 1), (1, cpus), (cpus, 1)):
        for budget in (0, 512, 2048):
            out[f"onnx threads={threads} workers={workers} budget={budget}"] = (
                lambda t=threads, w=workers, b=budget: OnnxEncoder(base.model_dir, name=base.name, threads=t,
                                                                   workers=w, token_budget=b))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "fazhi")
    parser.add_argument("--runtime", choices=(RUNTIME_ONNX, RUNTIME_TORCH), default=RUNTIME_ONNX)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    encoders = {label: make() for label, make in _settings(args.runtime, args.cache_dir).items()}
    figures: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label in encoders}
    for encoder in encoders.values():  # warm-up: load, fault the weights in
        encoder.encode_queries(QUESTIONS)
    for _ in range(args.rounds):
        for label, encoder in encoders.items():
            figures[label][0].append(query_ms(encoder, args.repeats))
            figures[label][1].append(passages_per_s(encoder))
    for label, (queries, passages) in figures.items():
        print(f"{label}: query p50 {statistics.median(queries):.1f} ms; passages {statistics.median(passages):.1f}/s")


if __name__ == "__main__":
    main()

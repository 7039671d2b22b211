"""The default model on ONNX Runtime, and the cold `fazhi ask` path: exact tokens, close vectors, lean imports."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from embeddings import DEFAULT_MODEL, ModelUnavailableError, SentenceTransformerEncoder, default_model_dir, load_encoder
from embeddings.onnx import OnnxEncoder, token_batches
from embeddings.onnx_export import export_dir
from embeddings.tokens import TokenIds
from retrieval.engine import Engine
from seeds import seed_paths

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ["太平镇有多少人民调解员？", "中塘镇2021年化解了多少矛盾纠纷？", "给我讲一个板溪镇基层自治的做法",
             "那双塔镇呢？", "ＡＢＣ村法律顾问覆盖率是多少？"]
OTHER_SCRIPTS = ["Правовое государство 2023", "مرحبا بالعالم", "café naïve résumé ①②", "x" * 3000, "ひらがな と カタカナ"]
HEAVY = ["matplotlib", "sentence_transformers", "sklearn", "telegram", "torch", "transformers"]


def _seed_lines() -> list[str]:
    lines = [line for path in seed_paths() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[::7]


@pytest.fixture(scope="module")
def onnx_encoder(model_cache: Path) -> OnnxEncoder:
    encoder = load_encoder(DEFAULT_MODEL, cache_dir=model_cache, runtime="onnx")
    assert isinstance(encoder, OnnxEncoder)
    return encoder


def test_core_tokenizer_gives_the_full_tokenizers_ids(onnx_encoder: OnnxEncoder) -> None:
    full = Tokenizer.from_file(str(onnx_encoder.model_dir / "tokenizer.json"))
    full.enable_truncation(512)
    tokens = TokenIds(onnx_encoder.model_dir, export_dir(onnx_encoder.model_dir), max_length=512)
    chinese = ["query: " + q for q in QUESTIONS] + ["passage: " + line for line in _seed_lines()]
    assert [ids.tolist() for ids in tokens.encode(chinese)] == [e.ids for e in full.encode_batch(chinese)]
    assert tokens.full_loads == 0  # Chinese reports and questions never need the full vocabulary
    assert [ids.tolist() for ids in tokens.encode(OTHER_SCRIPTS)] == [e.ids for e in full.encode_batch(OTHER_SCRIPTS)]
    assert tokens.full_loads == 1
    assert max(len(ids) for ids in tokens.encode(OTHER_SCRIPTS)) == 512


def test_int8_vectors_stay_close_to_f32(onnx_encoder: OnnxEncoder, model_cache: Path) -> None:
    torch_encoder = SentenceTransformerEncoder(default_model_dir(model_cache), name=DEFAULT_MODEL)
    passages = _seed_lines()[:40]
    for ours, reference in ((onnx_encoder.encode_queries(QUESTIONS), torch_encoder.encode_queries(QUESTIONS)),
                            (onnx_encoder.encode_passages(passages), torch_encoder.encode_passages(passages))):
        assert (ours * reference).sum(axis=1).min() >= 0.99


def test_ask_path_vectors_equal_indexing_path(onnx_encoder: OnnxEncoder, model_cache: Path) -> None:
    """A fresh process without torch (as `fazhi ask`) embeds like the indexing process, to 1e-5."""
    passages = _seed_lines()[:6]
    code = (
        "import json, sys; from pathlib import Path; from embeddings import load_encoder, DEFAULT_MODEL\n"
        f"enc = load_encoder(DEFAULT_MODEL, cache_dir=Path({str(model_cache)!r}), runtime='onnx')\n"
        f"q = [enc.encode_queries([t])[0].tolist() for t in {QUESTIONS!r}]\n"
        f"p = enc.encode_passages({passages[:2]!r}).tolist()\n"
        f"print(json.dumps({{'q': q, 'p': p, 'heavy': sorted(set({HEAVY!r}) & set(sys.modules))}}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    fresh = json.loads(out.stdout)
    assert fresh["heavy"] == []
    np.testing.assert_allclose(fresh["q"], onnx_encoder.encode_queries(QUESTIONS), atol=1e-5)
    np.testing.assert_allclose(fresh["p"], onnx_encoder.encode_passages(passages)[:2], atol=1e-5)


@pytest.mark.parametrize(("lengths", "budget", "expected"), [
    pytest.param([5, 9, 7], 0, [[1], [2], [0]], id="no-budget-one-each"),
    pytest.param([5, 9, 7], 18, [[1, 2], [0]], id="padded-to-longest"),
    pytest.param([10, 10, 10, 10], 40, [[0, 1, 2, 3]], id="exactly-full"),
    pytest.param([600, 3], 512, [[0], [1]], id="over-budget-alone"),
    pytest.param([], 512, [], id="empty"),
])
def test_token_batches(lengths: list[int], budget: int, expected: list[list[int]]) -> None:
    assert token_batches(lengths, budget) == expected


def test_cold_ask_imports_only_what_it_needs(seed_engine: Engine, model_cache: Path) -> None:
    code = (
        "import sys; from bot.cli import main; code = main(['ask', '太平镇有多少人民调解员？']);"
        f"print(sorted(set({HEAVY!r}) & {{m.split('.')[0] for m in sys.modules}}))"
    )
    env = {**os.environ, "FAZHI_CACHE_DIR": str(model_cache), "FAZHI_INDEX_DIR": str(seed_engine.config.index_dir)}
    env.pop("FAZHI_EMBED_MODEL", None)
    env.pop("FAZHI_EMBED_RUNTIME", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO, env=env)
    answer, heavy = out.stdout.strip().rsplit("\n", 1)
    assert "63名" in answer and "太平镇" in answer
    assert heavy == "[]"


def test_without_sentence_transformers_the_torch_path_is_unavailable(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The lean image has no torch: asking for the torch runtime says so instead of a traceback."""
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now raises ImportError
    with pytest.raises(ModelUnavailableError, match="sentence-transformers"):
        SentenceTransformerEncoder(tmp_path, name="other").load()

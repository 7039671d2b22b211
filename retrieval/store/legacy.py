"""The folder format before the embedded store (format 1), read once to migrate it:

    <index_dir>/current -> versions/v-…   manifest.json, passages.jsonl (text and BM25 terms), dense.faiss

``current`` only ever pointed at a complete version, so a readable one is migrated whole (vectors kept
when the model is the same); anything else is ignored and the index is rebuilt from the report files.
"""

import json
import logging
import os
import shutil
from pathlib import Path

import faiss
import numpy as np

from embeddings import Encoder
from retrieval.reports.documents import Passage, Report
from retrieval.store import FigureMaker, NewReport, Origin

log = logging.getLogger(__name__)
FORMAT = 1


def read(index_dir: Path, encoder: Encoder, figures: FigureMaker) -> list[NewReport] | None:
    """The reports of a format-1 index embedded with ``encoder``'s model (figure rows made by ``figures``),
    or None (none, other model, unreadable)."""
    if not (index_dir / "current").is_symlink():
        return None
    try:
        folder = index_dir / os.readlink(index_dir / "current")
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT or (manifest["model"], manifest["dim"]) != (encoder.name, encoder.dim):
            return None
        rows = [json.loads(line) for line in (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
        index = faiss.read_index(str(folder / "dense.faiss"))
        vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, encoder.dim), np.float32)
        if len(vectors) != len(rows):
            return None
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        log.warning("cannot read the older index in %s (%r): rebuilding", index_dir, error)
        return None
    by_doc: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_doc.setdefault(row["doc"], []).append(i)
    out = []
    for entry in manifest["reports"]:
        picked = by_doc.get(entry["doc_id"], [])
        passages = [Passage(rows[i]["doc"], tuple(rows[i]["section"]), rows[i]["text"]) for i in picked]
        out.append(NewReport(Report(**entry["report"]), Origin(**entry["origin"]), passages,
                             [rows[i]["terms"] for i in picked], vectors[picked], figures(passages)))
    log.info("migrating %d reports from the older index format in %s", len(out), index_dir)
    return out


def remove(index_dir: Path) -> None:
    """Delete the format-1 folders (after the store holding their content has committed)."""
    (index_dir / "current").unlink(missing_ok=True)
    for link in index_dir.glob(".current-*"):
        link.unlink(missing_ok=True)
    shutil.rmtree(index_dir / "versions", ignore_errors=True)

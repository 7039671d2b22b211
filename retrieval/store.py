"""The index directory on disk: versioned, written atomically, one writer at a time.

    <index_dir>/
      current -> versions/v-…     symlink, swapped with os.replace (atomic)
      versions/v-…/manifest.json  format, model, dimension, corpus fingerprint, reports
      versions/v-…/passages.jsonl one passage a line: report, section path, original text, BM25 terms
      versions/v-…/dense.faiss    passage vectors, row i = line i of passages.jsonl
      .lock                       flock held by a writer

A process killed at any point leaves ``current`` pointing at a complete version.
"""

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from retrieval.dense import DenseIndex
from retrieval.documents import Passage, Report
from retrieval.errors import IndexBusyError

FORMAT = 1
LOCK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Origin:
    """Where a report came from, to notice when its file changes."""

    path: str | None
    sha256: str


@dataclass(frozen=True)
class Corpus:
    """An immutable snapshot of the index: reports, passages (in row order), their terms and vectors."""

    model: str
    reports: dict[str, Report]
    origins: dict[str, Origin]
    passages: list[Passage]
    terms: list[list[str]]
    dense: DenseIndex
    version: str = ""

    @property
    def fingerprint(self) -> str:
        return ",".join(sorted(self.reports))


def current_version(index_dir: Path) -> str | None:
    """Name of the version ``current`` points at (cheap: one readlink), or None."""
    try:
        return os.readlink(index_dir / "current")
    except OSError:
        return None


def load(index_dir: Path) -> Corpus | None:
    """The current version, or None when there is none or it is of another format."""
    version = current_version(index_dir)
    if version is None:
        return None
    folder = index_dir / version
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        return None
    reports = {r["doc_id"]: Report(**r["report"]) for r in manifest["reports"]}
    origins = {r["doc_id"]: Origin(**r["origin"]) for r in manifest["reports"]}
    passages, terms = [], []
    with (folder / "passages.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            passages.append(Passage(row["doc"], tuple(row["section"]), row["text"]))
            terms.append(row["terms"])
    dense = DenseIndex.load(folder / "dense.faiss")
    return Corpus(manifest["model"], reports, origins, passages, terms, dense, version)


def save(index_dir: Path, corpus: Corpus) -> str:
    """Write ``corpus`` as a new version and point ``current`` at it; returns the version name."""
    versions = index_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tmp = versions / f".tmp-{name}"
    tmp.mkdir()
    manifest = {
        "format": FORMAT,
        "model": corpus.model,
        "dim": corpus.dense.dim,
        "fingerprint": corpus.fingerprint,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "reports": [
            {"doc_id": doc_id, "report": asdict(report), "origin": asdict(corpus.origins[doc_id])}
            for doc_id, report in corpus.reports.items()
        ],
    }
    _write(tmp / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    _write(tmp / "passages.jsonl", "".join(
        json.dumps({"doc": p.doc_id, "section": p.section, "text": p.text, "terms": t}, ensure_ascii=False) + "\n"
        for p, t in zip(corpus.passages, corpus.terms, strict=True)
    ))
    corpus.dense.save(tmp / "dense.faiss")
    _fsync(tmp / "dense.faiss")
    os.replace(tmp, versions / name)
    previous = current_version(index_dir)
    link = index_dir / f".current-{uuid.uuid4().hex[:6]}"
    os.symlink(f"versions/{name}", link)
    os.replace(link, index_dir / "current")
    _fsync(index_dir)
    _prune(index_dir, keep={f"versions/{name}", previous or ""})
    return f"versions/{name}"


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(index_dir: Path, keep: set[str]) -> None:
    """Remove older versions and leftovers of interrupted writes (only ever called under the lock).

    The version just replaced is kept, so a reader that resolved ``current`` a moment ago can finish.
    """
    for folder in (index_dir / "versions").iterdir():
        if f"versions/{folder.name}" not in keep:
            shutil.rmtree(folder, ignore_errors=True)
    for link in index_dir.glob(".current-*"):
        link.unlink(missing_ok=True)


@contextlib.contextmanager
def lock(index_dir: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the writer lock; raises IndexBusyError when another writer keeps it past ``timeout``."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusyError(str(index_dir)) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

"""Where reports, passages, their terms, vectors and derived rows live: one interface, two stores.

    Store          a place on disk (or a server) that holds one corpus; one writer at a time
    ├── embedded   the default: SQLite (reports, passages, figure rows) + an append-only vector file
    │              + BM25 postings and a FAISS index derived from them (``retrieval/store/embedded.py``)
    └── milvus     ``FAZHI_STORE=milvus://host:19530`` or a Milvus Lite file (``retrieval/store/milvus.py``)

A ``Snapshot`` is a read-only view of one committed state; writers never change a snapshot, they commit
a new state and readers pick it up with ``Store.snapshot()``.
"""

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.errors import IndexBusyError
from retrieval.reports.documents import Passage, Report
from retrieval.reports.figures import Figure

LOCK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Origin:
    """Where a report came from, to notice when its file changes."""

    path: str | None
    sha256: str


@dataclass(frozen=True)
class FigureRow:
    """One figure of a report as the figure ledger reads it, extracted once when the report is indexed and
    stored with its passages (``retrieval.reports.ledger_rows``).

    ``offset``: the passage's position within its report (its row is the report's first row + offset);
    ``sentence``: the sentence's place in the passage and ``span`` its characters in the passage text;
    ``figure.start``/``figure.end``, ``clause`` and ``phrase`` are character ranges of that sentence;
    ``position``: the figure's place among its sentence's figures; ``after``: the noun right after the
    figure naming what is counted ("19个村" → 村), or "".
    """

    offset: int
    sentence: int
    span: tuple[int, int]
    figure: Figure
    clause: tuple[int, int]
    phrase: tuple[int, int]
    position: int
    after: str


FigureMaker = Callable[[Sequence[Passage]], list[FigureRow]]  # a report's passages → its figure rows


@dataclass(frozen=True)
class LedgerRecord:
    """A report's figure rows as the ledger reads them in one go: the rows, each row's sentence text, and the
    vectors of the rows' texts with ``key`` naming what they were made from (model and texts; ``vectors`` is
    None when the store holds none)."""

    rows: list[FigureRow]
    sentences: list[str]
    key: str
    vectors: np.ndarray | None


# A report's passages and figure rows → (key, vectors) of its ledger rows; None when they cannot be had cheaply.
LedgerVectors = Callable[[str, Sequence[Passage], Sequence[FigureRow]], "tuple[str, np.ndarray] | None"]


@dataclass(frozen=True)
class NewReport:
    """A report ready to store: its passages in reading order with their BM25 terms and vectors."""

    report: Report
    origin: Origin
    passages: Sequence[Passage]
    terms: Sequence[Sequence[str]]
    vectors: np.ndarray
    figures: Sequence[FigureRow] = field(default_factory=tuple)
    ledger_key: str = ""  # what ``ledger_vectors`` were made from (``retrieval.answers.decide.ledger``)
    ledger_vectors: np.ndarray | None = None  # one per figure row, stored with the report when given


class Passages(Protocol):
    def __getitem__(self, row: int) -> Passage: ...

    def prefetch(self, rows: Iterable[int]) -> None:
        """Read the passages of ``rows`` in one go (they are about to be read one by one)."""
        ...


class Snapshot(Protocol):
    """One committed state. Rows are passage ids: a report's passages have consecutive rows."""

    version: str
    model: str
    dim: int
    reports: Mapping[str, Report]
    origins: Mapping[str, Origin]
    passages: Passages

    def rows(self, doc_ids: Iterable[str]) -> np.ndarray:
        """Passage rows of these reports, each report's in reading order."""
        ...

    def idf(self, term: str) -> float: ...

    def has_term(self, term: str) -> bool: ...

    def lexical_scores(self, terms: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """BM25 of ``rows`` for ``terms`` (corpus-wide statistics)."""
        ...

    def lexical_top(self, terms: Sequence[str], k: int, rows: np.ndarray | None) -> np.ndarray:
        """The rows with the k best BM25 scores (within ``rows`` when given)."""
        ...

    def dense_scores(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact cosine of ``rows`` to ``vector``."""
        ...

    def dense_top(self, vector: np.ndarray, k: int, rows: np.ndarray | None) -> np.ndarray:
        """The rows nearest ``vector`` (approximate past a size; within ``rows`` when given)."""
        ...

    def stored_terms(self, rows: np.ndarray) -> list[list[str]]:
        """The BM25 terms stored for ``rows``."""
        ...

    def figure_rows(self, doc_id: str) -> list[FigureRow]:
        """The figure rows of a report, in reading order (as ``NewReport.figures`` stored them)."""
        ...

    def ledger_records(self, doc_ids: Iterable[str]) -> dict[str, LedgerRecord]:
        """The ledger records of these reports (one read for all of them)."""
        ...


class Store(Protocol):
    """A corpus that can be read as snapshots and changed under a lock."""

    def version(self) -> str | None:
        """The committed state's version (cheap), or None when the store is empty."""
        ...

    def snapshot(self) -> Snapshot | None: ...

    def lock(self, timeout: float | None = None) -> contextlib.AbstractContextManager[None]:
        """The writer lock; raises IndexBusyError when another writer keeps it past ``timeout``."""
        ...

    def migrate(self, figures: FigureMaker, vectors: LedgerVectors | None = None) -> bool:
        """Bring a store of a previous format to this one in place, its figure rows made again by ``figures``
        from the stored passages when that format lacks them (and the ledger vectors ``vectors`` gives kept
        with them), in one step readers never see half done (the caller holds the lock); False when there is
        no such store."""
        ...

    def write(self, *, model: str, dim: int, add: Sequence[NewReport] = (), drop: Sequence[str] = (),
              compacting: bool = True) -> str:
        """Add reports and remove others (by doc id) in one atomic commit; returns the new version.
        A store of another model or dimension is replaced by ``add`` alone; ``compacting=False`` defers
        merging (bulk loads)."""
        ...


def open_store(index_dir: Path, location: str = "") -> Store:
    """The store at ``location`` (``FAZHI_STORE``): empty = embedded in ``index_dir``; ``milvus://host:port``
    or a path ending in ``.db`` = Milvus."""
    if location.startswith(("milvus://", "http://", "https://")) or location.endswith(".db"):
        from retrieval.store.milvus import MilvusStore

        return MilvusStore(location, lock_dir=index_dir)
    from retrieval.store.embedded import EmbeddedStore

    return EmbeddedStore(Path(location) if location else index_dir)


def current_version(index_dir: Path, location: str = "") -> str | None:
    """The version of the store's committed state, or None when there is none yet."""
    return open_store(index_dir, location).version()


@contextlib.contextmanager
def file_lock(folder: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold ``folder/.lock``; raises IndexBusyError when another writer keeps it past ``timeout``."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusyError(str(folder)) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

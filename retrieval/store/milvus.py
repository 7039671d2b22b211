"""The Milvus store: ``FAZHI_STORE=milvus://host:19530`` (a standalone or cluster) or a Milvus Lite file
(``…/fazhi.db``, no server).

    fazhi_passages   row (primary), doc_id, town, year, section, text (jieba analyzer) → BM25 sparse field
                     (a Milvus function), terms (our jieba terms), vector (FLAT/IP on Lite, HNSW on a server)
    fazhi_reports    doc_id (primary), first_row, count, report, origin — the live reports
    fazhi_figures    figure rows of every report (doc_id, row, sentence, clause, noun, unit group, value…)
    fazhi_meta       format, model, dimension, generation, next row

``dense_top`` and ``lexical_top`` are Milvus searches with the unit/year filter pushed down (the dense
field, and BM25 over the text with Milvus's jieba analyzer); ``hybrid`` fuses both in Milvus with a
weighted ranker. Scores of given rows (``rank``) and term statistics come from the stored terms and
vectors, computed as the embedded store does, so answers are the same on both stores.

The read side (``MilvusSnapshot``, the figure rows as JSON) is ``retrieval.store.milvus_snapshot``.

Milvus has no transactions: a write inserts passages and figure rows first and the report rows last; rows
of no live report are ignored by every read, so a writer killed midway leaves no half report visible.
"""

import contextlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.reports.figures import EXTRACTION
from retrieval.search import lexical
from retrieval.store import FigureMaker, LedgerVectors, NewReport, file_lock
from retrieval.store.milvus_snapshot import BATCH, PREFIX, ROW_JSON, MilvusSnapshot, figure_json

FORMAT = "milvus-2"  # 2: figure rows carry what the ledger reads; a milvus-1 store is migrated
PREVIOUS = "milvus-1"


def _current(meta: dict[str, str]) -> bool:
    """The store is of this format and extraction (``figures.EXTRACTION``)."""
    return meta.get("format") == FORMAT and meta.get("extraction") == EXTRACTION


def _client(uri: str) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as error:  # an optional dependency: say which package to install
        raise RuntimeError("FAZHI_STORE 指向 Milvus，需要先安装：pip install pymilvus milvus-lite") from error
    return MilvusClient(uri.replace("milvus://", "http://", 1))


_DUMMY = [0.0, 0.0]  # every Milvus collection needs a vector field


class MilvusStore:
    lock_timeout = 30.0

    def __init__(self, location: str, *, lock_dir: Path) -> None:
        self.location = location
        self.lock_dir = lock_dir if location.startswith(("milvus://", "http")) else Path(location).parent
        self._client: Any = None
        self._guard = threading.Lock()

    @property
    def client(self) -> Any:
        with self._guard:
            if self._client is None:
                if not self.location.startswith(("milvus://", "http")):
                    Path(self.location).parent.mkdir(parents=True, exist_ok=True)
                self._client = _client(self.location)
                for name in ("passages", "reports", "figures", "meta"):  # reopened collections start released
                    if self._client.has_collection(PREFIX + name):
                        self._client.load_collection(PREFIX + name)
                _index_doc_ids(self._client)  # a store written before the index was made
            return self._client

    def close(self) -> None:
        """Let go of the connection (a Milvus Lite file is open in one process at a time)."""
        with self._guard:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _meta(self) -> dict[str, str]:
        if not self.client.has_collection(PREFIX + "meta"):
            return {}
        rows = self.client.query(PREFIX + "meta", filter='key != ""', output_fields=["key", "value"], limit=100)
        return {r["key"]: r["value"] for r in rows}

    def version(self) -> str | None:
        meta = self._meta()
        return f"m{meta['generation']}" if _current(meta) else None

    def snapshot(self) -> "MilvusSnapshot | None":
        meta = self._meta()
        return MilvusSnapshot.open(self.client, meta) if _current(meta) else None

    def lock(self, timeout: float | None = None) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.lock_dir, self.lock_timeout if timeout is None else timeout)

    def migrate(self, figures: FigureMaker, vectors: LedgerVectors | None = None) -> bool:
        """A milvus-1 store, or one indexed with an earlier extraction, brought to this format: its figure rows
        made again from the stored passages into a new collection, then the format and extraction raised (the
        last write: until then the store reads as out of date, which this code does not read, and a migration
        killed midway starts again), with the ledger vectors ``vectors`` gives."""
        meta = self._meta()
        if meta.get("format") not in (PREVIOUS, FORMAT) or _current(meta):
            return False
        snapshot = MilvusSnapshot.open(self.client, meta)
        if self.client.has_collection(PREFIX + "figures"):
            self.client.drop_collection(PREFIX + "figures")
        _figures_collection(self.client)
        for doc_id, (first, _) in snapshot.ranges.items():
            rows = snapshot.rows([doc_id])
            snapshot.passages.prefetch(rows)
            passages = [snapshot.passages[int(r)] for r in rows]
            found = figures(passages)
            key, kept = (vectors(doc_id, passages, found) if vectors is not None else None) or ("", None)
            made = [{"doc_id": doc_id, "row": first + f.offset, "v": _DUMMY, "row_json": figure_json(f, key, v)}
                    for f, v in zip(found, [None] * len(found) if kept is None else kept, strict=True)]
            for lo in range(0, len(made), BATCH):
                self.client.insert(PREFIX + "figures", made[lo:lo + BATCH])
        meta.update(format=FORMAT, extraction=EXTRACTION, generation=str(int(meta["generation"]) + 1))
        self.client.upsert(PREFIX + "meta", [{"key": k, "value": v, "v": _DUMMY} for k, v in meta.items()])
        return True

    def write(self, *, model: str, dim: int, add: Sequence[NewReport] = (), drop: Sequence[str] = (),
              compacting: bool = True) -> str:
        meta = self._meta()
        if not _current(meta) or meta.get("model") != model or meta.get("dim") != str(dim):
            _create(self.client, dim)
            meta = {"format": FORMAT, "extraction": EXTRACTION, "model": model, "dim": str(dim),
                    "generation": meta.get("generation", "0"), "next_row": "0"}
        doc_ids = [*drop, *(r.report.doc_id for r in add)]
        gone = self.client.query(PREFIX + "reports", filter=f"doc_id in {json.dumps(doc_ids, ensure_ascii=False)}",
                                 output_fields=["first_row", "count"], limit=len(doc_ids)) if doc_ids else []
        if doc_ids:
            self.client.delete(PREFIX + "reports", filter=f"doc_id in {json.dumps(doc_ids, ensure_ascii=False)}")
        row = int(meta["next_row"])
        for item in add:
            _insert(self.client, item, row)
            row += len(item.passages)
        for old in gone:  # the reports are gone: now their passages and figure rows (orphans are ignored anyway)
            where = f"row >= {old['first_row']} and row < {old['first_row'] + old['count']}"
            self.client.delete(PREFIX + "passages", filter=where)
            self.client.delete(PREFIX + "figures", filter=where)
        meta.update(generation=str(int(meta["generation"]) + 1), next_row=str(row))
        self.client.upsert(PREFIX + "meta", [{"key": k, "value": v, "v": _DUMMY} for k, v in meta.items()])
        return f"m{meta['generation']}"




def _create(client: Any, dim: int) -> None:
    from pymilvus import DataType, Function, FunctionType

    for name in ("passages", "reports", "figures", "meta"):
        if client.has_collection(PREFIX + name):
            client.drop_collection(PREFIX + name)
    schema = client.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    for field in ("doc_id", "town"):
        schema.add_field(field, DataType.VARCHAR, max_length=256)
    schema.add_field("year", DataType.INT64)
    schema.add_field("section", DataType.VARCHAR, max_length=4096)
    schema.add_field("text", DataType.VARCHAR, max_length=16384, enable_analyzer=True,
                     analyzer_params={"tokenizer": "jieba"})
    schema.add_field("terms", DataType.VARCHAR, max_length=32768)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                    params={"bm25_k1": lexical.K1, "bm25_b": lexical.B})
    client.create_collection(PREFIX + "passages", schema=schema, index_params=index, consistency_level="Strong")
    _plain(client, "reports", [("doc_id", 256, True), ("report", 8192, False), ("origin", 4096, False)],
           ints=("first_row", "count"))
    _figures_collection(client)
    _plain(client, "meta", [("key", 64, True), ("value", 1024, False)])


def _figures_collection(client: Any) -> None:
    _plain(client, "figures", [("doc_id", 256, False), ("row_json", ROW_JSON, False)], ints=("row",), auto=True)
    _index_doc_ids(client)


def _index_doc_ids(client: Any) -> None:
    """A scalar (inverted) index on the figure rows' doc ids: a question reads the rows of some 50 reports by
    doc id, which without it scans the whole collection (seconds per query on Milvus Lite at 100k passages)."""
    name = PREFIX + "figures"
    if not client.has_collection(name) or "doc_id" in client.list_indexes(name):
        return
    index = client.prepare_index_params()
    index.add_index("doc_id", index_type="INVERTED")
    client.create_index(name, index)


def _plain(client: Any, name: str, strings: list[tuple[str, int, bool]], *, ints: Sequence[str] = (),
           auto: bool = False) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=auto)
    if auto:
        schema.add_field("id", DataType.INT64, is_primary=True)
    for field, size, primary in strings:
        schema.add_field(field, DataType.VARCHAR, max_length=size, is_primary=primary)
    for field in ints:
        schema.add_field(field, DataType.INT64)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=len(_DUMMY))
    index = client.prepare_index_params()
    index.add_index("v", index_type="AUTOINDEX", metric_type="L2")
    client.create_collection(PREFIX + name, schema=schema, index_params=index, consistency_level="Strong")


def _insert(client: Any, item: NewReport, first: int) -> None:
    report = item.report
    rows = [{"row": first + i, "doc_id": report.doc_id, "town": report.town, "year": report.year,
             "section": json.dumps(p.section, ensure_ascii=False), "text": p.text or " ", "terms": " ".join(t),
             "vector": v.tolist()} for i, (p, t, v) in enumerate(zip(item.passages, item.terms, item.vectors,
                                                                     strict=True))]
    for lo in range(0, len(rows), BATCH):
        client.insert(PREFIX + "passages", rows[lo:lo + BATCH])
    vectors = item.ledger_vectors if item.ledger_vectors is not None else [None] * len(item.figures)
    figures = [{"doc_id": report.doc_id, "row": first + f.offset, "v": _DUMMY,
                "row_json": figure_json(f, item.ledger_key, v)} for f, v in zip(item.figures, vectors, strict=True)]
    for lo in range(0, len(figures), BATCH):
        client.insert(PREFIX + "figures", figures[lo:lo + BATCH])
    client.insert(PREFIX + "reports", [{
        "doc_id": report.doc_id, "first_row": first, "count": len(item.passages), "v": _DUMMY,
        "report": json.dumps(report.__dict__, ensure_ascii=False),
        "origin": json.dumps(item.origin.__dict__, ensure_ascii=False)}])




def copy_into(folder: Path, location: Path) -> None:
    """Copy an embedded store (the scale corpus) into a Milvus Lite file, once."""
    store = MilvusStore(str(location), lock_dir=location.parent)
    try:
        if store.version() is None:
            _copy(folder, store)
    finally:
        store.close()


def _copy(folder: Path, store: MilvusStore) -> None:
    from retrieval.store.embedded import EmbeddedStore

    snapshot = EmbeddedStore(folder).snapshot()
    assert snapshot is not None
    batch: list[NewReport] = []
    for doc_id, report in snapshot.reports.items():
        rows = snapshot.rows([doc_id])
        record = snapshot.ledger_records([doc_id])[doc_id]
        batch.append(NewReport(report, snapshot.origins[doc_id], [snapshot.passages[int(r)] for r in rows],
                               snapshot.stored_terms(rows), np.asarray(snapshot.vectors[rows]), record.rows,
                               record.key, record.vectors))
        if sum(len(b.passages) for b in batch) >= 5000:
            store.write(model=snapshot.model, dim=snapshot.dim, add=batch)
            batch = []
    store.write(model=snapshot.model, dim=snapshot.dim, add=batch)

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

Milvus has no transactions: a write inserts passages and figure rows first and the report rows last; rows
of no live report are ignored by every read, so a writer killed midway leaves no half report visible.
"""

import base64
import contextlib
import dataclasses
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.reports.documents import Passage, Report
from retrieval.reports.figures import Figure
from retrieval.search import dense, lexical
from retrieval.store import FigureMaker, FigureRow, LedgerRecord, LedgerVectors, NewReport, Origin, file_lock
from retrieval.store.snapshot import RowsAndTerms

FORMAT = "milvus-2"  # 2: figure rows carry what the ledger reads; a milvus-1 store is migrated
PREVIOUS = "milvus-1"
PREFIX = "fazhi_"
_BATCH = 1000
_CACHED = 20_000
_BATCH_REPORTS = 50
DENSE_EF = 256
_ROW_JSON = 8192  # the figure row field's length (counted in bytes here, to be safe)
_QUERY_LIMIT = 16384  # the most rows one Milvus query returns


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
        return f"m{meta['generation']}" if meta.get("format") == FORMAT else None

    def snapshot(self) -> "MilvusSnapshot | None":
        meta = self._meta()
        return MilvusSnapshot.open(self.client, meta) if meta.get("format") == FORMAT else None

    def lock(self, timeout: float | None = None) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.lock_dir, self.lock_timeout if timeout is None else timeout)

    def migrate(self, figures: FigureMaker, vectors: LedgerVectors | None = None) -> bool:
        """A milvus-1 store brought to this format: its figure rows made again from the stored passages into
        a new collection, then the format raised (the last write: until then the store reads as milvus-1, which
        this code does not read, and a migration killed midway starts again), with the ledger vectors
        ``vectors`` gives."""
        meta = self._meta()
        if meta.get("format") != PREVIOUS:
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
            made = [{"doc_id": doc_id, "row": first + f.offset, "v": _DUMMY, "row_json": _figure_json(f, key, v)}
                    for f, v in zip(found, [None] * len(found) if kept is None else kept, strict=True)]
            for lo in range(0, len(made), _BATCH):
                self.client.insert(PREFIX + "figures", made[lo:lo + _BATCH])
        meta.update(format=FORMAT, generation=str(int(meta["generation"]) + 1))
        self.client.upsert(PREFIX + "meta", [{"key": k, "value": v, "v": _DUMMY} for k, v in meta.items()])
        return True

    def write(self, *, model: str, dim: int, add: Sequence[NewReport] = (), drop: Sequence[str] = (),
              compacting: bool = True) -> str:
        meta = self._meta()
        if meta.get("format") != FORMAT or meta.get("model") != model or meta.get("dim") != str(dim):
            _create(self.client, dim)
            meta = {"format": FORMAT, "model": model, "dim": str(dim), "generation": meta.get("generation", "0"),
                    "next_row": "0"}
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


def _figure_json(row: FigureRow, key: str = "", vector: np.ndarray | None = None) -> str:
    """A figure row, with its ledger vector (float32, base64) and the vectors' key when made at indexing."""
    fields: dict[str, Any] = dataclasses.asdict(row)
    plain = json.dumps(fields, ensure_ascii=False)
    if vector is None:
        return plain
    fields.update(ledger_key=key, ledger_vector=base64.b64encode(vector.astype(np.float32).tobytes()).decode())
    text = json.dumps(fields, ensure_ascii=False)
    return text if len(text.encode()) <= _ROW_JSON else plain  # too long for the field: the ledger folder keeps it


def _figure_row(text: str) -> FigureRow:
    return _ledger_row(text)[0]


def _ledger_row(text: str) -> tuple[FigureRow, str, np.ndarray | None]:
    fields = json.loads(text)
    key, vector = fields.pop("ledger_key", ""), fields.pop("ledger_vector", None)
    row = FigureRow(**{**fields, "figure": Figure(**fields["figure"]), "span": tuple(fields["span"]),
                       "clause": tuple(fields["clause"]), "phrase": tuple(fields["phrase"])})
    return row, key, None if vector is None else np.frombuffer(base64.b64decode(vector), np.float32)


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
    _plain(client, "figures", [("doc_id", 256, False), ("row_json", _ROW_JSON, False)], ints=("row",), auto=True)
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
    for lo in range(0, len(rows), _BATCH):
        client.insert(PREFIX + "passages", rows[lo:lo + _BATCH])
    vectors = item.ledger_vectors if item.ledger_vectors is not None else [None] * len(item.figures)
    figures = [{"doc_id": report.doc_id, "row": first + f.offset, "v": _DUMMY,
                "row_json": _figure_json(f, item.ledger_key, v)} for f, v in zip(item.figures, vectors, strict=True)]
    for lo in range(0, len(figures), _BATCH):
        client.insert(PREFIX + "figures", figures[lo:lo + _BATCH])
    client.insert(PREFIX + "reports", [{
        "doc_id": report.doc_id, "first_row": first, "count": len(item.passages), "v": _DUMMY,
        "report": json.dumps(report.__dict__, ensure_ascii=False),
        "origin": json.dumps(item.origin.__dict__, ensure_ascii=False)}])


class MilvusSnapshot(RowsAndTerms):
    """The live reports as of opening; passages, vectors and terms read from Milvus by row."""

    def __init__(self, client: Any, meta: dict[str, str], stored: list[dict[str, Any]]) -> None:
        self.client = client
        self.version, self.model, self.dim = f"m{meta['generation']}", meta["model"], int(meta["dim"])
        self.reports = {r["doc_id"]: Report(**json.loads(r["report"])) for r in stored}
        self.origins = {r["doc_id"]: Origin(**json.loads(r["origin"])) for r in stored}
        self.ranges = {r["doc_id"]: (int(r["first_row"]), int(r["count"])) for r in stored}
        size = max((a + b for a, b in self.ranges.values()), default=0)
        self.alive = np.zeros(size, bool)
        for first, count in self.ranges.values():
            self.alive[first:first + count] = True
        self.passages = _Rows(self)
        terms = self._fetch(np.flatnonzero(self.alive), "terms")
        docs = [terms[int(r)].split(" ") if terms[int(r)] else [] for r in np.flatnonzero(self.alive)]
        lengths = np.zeros(size, np.float32)
        lengths[self.alive] = [len(d) for d in docs]
        self.bm25 = lexical.BM25([lexical.build_segment(np.flatnonzero(self.alive), docs)], lengths, self.alive)

    @classmethod
    def open(cls, client: Any, meta: dict[str, str]) -> "MilvusSnapshot":
        stored = list(_iterate(client, "reports", 'doc_id != ""', ["doc_id", "first_row", "count", "report",
                                                                      "origin"]))
        return cls(client, meta, stored)

    def _fetch(self, rows: np.ndarray, field: str) -> dict[int, Any]:
        out: dict[int, Any] = {}
        for lo in range(0, len(rows), _BATCH):
            chunk = [int(r) for r in rows[lo:lo + _BATCH]]
            for hit in self.client.query(PREFIX + "passages", filter=f"row in {chunk}", output_fields=["row", field],
                                         limit=len(chunk)):
                out[int(hit["row"])] = hit[field]
        return out

    def dense_scores(self, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        found = self._fetch(rows, "vector")
        block = np.array([found[int(r)] for r in rows], np.float32).reshape(len(rows), self.dim)
        return dense.exact_scores(block, vector, np.arange(len(rows)))

    def _filter(self, rows: np.ndarray | None) -> str:
        """The reports of ``rows`` as a Milvus filter (none: every row; rows of no live report are dropped
        after the search)."""
        if rows is None:
            return ""
        order = sorted(self.ranges.items(), key=lambda item: item[1][0])
        firsts = np.array([first for _, (first, _) in order])
        picked = {order[i][0] for i in np.unique(np.searchsorted(firsts, rows, side="right") - 1) if i >= 0}
        return f"doc_id in {json.dumps(sorted(picked), ensure_ascii=False)}"

    def _search(self, data: list[Any], field: str, metric: str, k: int, rows: np.ndarray | None) -> np.ndarray:
        if rows is not None and len(rows) == 0:
            return np.empty(0, np.int64)
        params: dict[str, Any] = {"metric_type": metric}
        if field == "vector":  # the HNSW graph's search breadth (Lite's default, 64, misses ~7% of the top 10)
            params["params"] = {"ef": max(DENSE_EF, 4 * k)}
        hits = self.client.search(PREFIX + "passages", data=data, anns_field=field, limit=k,
                                  filter=self._filter(rows), search_params=params, output_fields=["row"])[0]
        found = np.array([int(h["entity"]["row"]) for h in hits], np.int64)
        found = found[(found < len(self.alive)) & self.alive[np.minimum(found, len(self.alive) - 1)]]
        return found if rows is None else found[np.isin(found, rows)]

    def lexical_top(self, terms: Sequence[str], k: int, rows: np.ndarray | None) -> np.ndarray:
        text = "".join(terms)
        return self._search([text], "sparse", "BM25", k, rows) if text else np.empty(0, np.int64)

    def dense_top(self, vector: np.ndarray, k: int, rows: np.ndarray | None) -> np.ndarray:
        return self._search([vector.astype(np.float32).tolist()], "vector", "IP", k, rows)

    def hybrid(self, text: str, vector: np.ndarray, k: int, *, towns: Sequence[str] = (),
               years: Sequence[int] = ()) -> list[int]:
        """Milvus's own fusion: BM25 and dense requests with the unit/year filter, a weighted ranker."""
        from pymilvus import AnnSearchRequest, WeightedRanker

        where = " and ".join(filter(None, [f"town in {json.dumps(list(towns), ensure_ascii=False)}" if towns else "",
                                           f"year in {list(years)}" if years else ""]))
        requests = [AnnSearchRequest([text], "sparse", {"metric_type": "BM25"}, k, expr=where),
                    AnnSearchRequest([vector.tolist()], "vector", {"metric_type": "IP"}, k, expr=where)]
        hits = self.client.hybrid_search(PREFIX + "passages", requests, WeightedRanker(0.4, 0.6), limit=k,
                                         output_fields=["row"])[0]
        return [int(h["entity"]["row"]) for h in hits]

    def stored_terms(self, rows: np.ndarray) -> list[list[str]]:
        found = self._fetch(rows, "terms")
        return [found[int(r)].split(" ") if found[int(r)] else [] for r in rows]

    def figure_rows(self, doc_id: str) -> list[FigureRow]:
        return [row for row, _, _ in self._ledger_rows([doc_id])[doc_id]]

    def _ledger_rows(self, doc_ids: Sequence[str]) -> dict[str, list[tuple[FigureRow, str, np.ndarray | None]]]:
        """The figure rows of these reports, a query per ``_BATCH_REPORTS`` of them (by the doc id index)."""
        out: dict[str, list[tuple[FigureRow, str, np.ndarray | None]]] = {d: [] for d in doc_ids}
        fields = ["doc_id", "row", "row_json"]
        for lo in range(0, len(doc_ids), _BATCH_REPORTS):
            where = f"doc_id in {json.dumps(list(doc_ids[lo:lo + _BATCH_REPORTS]), ensure_ascii=False)}"
            hits = self.client.query(PREFIX + "figures", filter=where, output_fields=fields, limit=_QUERY_LIMIT)
            if len(hits) >= _QUERY_LIMIT:  # more rows than one query returns: page through them
                hits = list(_iterate(self.client, "figures", where, fields))
            for hit in hits:
                first, count = self.ranges[hit["doc_id"]]
                if first <= int(hit["row"]) < first + count:  # not the rows of a replaced report left behind
                    out[hit["doc_id"]].append(_ledger_row(hit["row_json"]))
        for rows in out.values():
            rows.sort(key=lambda item: (item[0].offset, item[0].sentence, item[0].position))
        return out

    def ledger_records(self, doc_ids: Iterable[str]) -> dict[str, LedgerRecord]:
        """Figure rows, their sentences, and the rows' vectors when they were made at indexing."""
        out = {}
        wanted = list(dict.fromkeys(doc_ids))
        every = self._ledger_rows(wanted)
        self.passages.prefetch(self.ranges[d][0] + row.offset for d in wanted for row, _, _ in every[d])
        for doc_id in wanted:
            first, _ = self.ranges[doc_id]
            found = every[doc_id]
            rows = [row for row, _, _ in found]
            sentences = [self.passages[first + f.offset].text[f.span[0]:f.span[1]] for f in rows]
            keys = {key for _, key, vector in found if vector is not None}
            whole = len(keys) == 1 and all(vector is not None for _, _, vector in found)
            vectors = np.stack([v for _, _, v in found]) if whole and found else None
            out[doc_id] = LedgerRecord(rows, sentences, keys.pop() if whole else "", vectors)
        return out


class _Rows:
    def __init__(self, snapshot: MilvusSnapshot) -> None:
        self._snapshot = snapshot
        self._cache: OrderedDict[int, Passage] = OrderedDict()
        self._lock = threading.Lock()

    def prefetch(self, rows: Iterable[int]) -> None:
        """Read the passages of ``rows`` not yet cached in one query per batch."""
        with self._lock:
            missing = sorted({int(r) for r in rows} - self._cache.keys())
        for lo in range(0, len(missing), _BATCH):
            chunk = missing[lo:lo + _BATCH]
            hits = self._snapshot.client.query(PREFIX + "passages", filter=f"row in {chunk}",
                                               output_fields=["row", "doc_id", "section", "text"], limit=len(chunk))
            with self._lock:
                for hit in hits:
                    self._cache[int(hit["row"])] = Passage(hit["doc_id"], tuple(json.loads(hit["section"])),
                                                           hit["text"])
                while len(self._cache) > _CACHED:
                    self._cache.popitem(last=False)

    def __getitem__(self, row: int) -> Passage:
        row = int(row)
        with self._lock:
            if row not in self._cache:
                hit = self._snapshot.client.query(PREFIX + "passages", filter=f"row == {row}",
                                                  output_fields=["doc_id", "section", "text"], limit=1)
                if not hit:
                    raise KeyError(row)
                self._cache[row] = Passage(hit[0]["doc_id"], tuple(json.loads(hit[0]["section"])), hit[0]["text"])
                if len(self._cache) > _CACHED:
                    self._cache.popitem(last=False)
            return self._cache[row]


def _iterate(client: Any, name: str, where: str, fields: list[str]) -> Iterable[dict[str, Any]]:
    iterator = client.query_iterator(PREFIX + name, batch_size=_BATCH, filter=where, output_fields=fields)
    while batch := iterator.next():
        yield from batch
    iterator.close()


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

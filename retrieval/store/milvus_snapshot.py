"""The read side of the Milvus store (``retrieval.store.milvus``): a snapshot of its live reports, with
passages, vectors and terms read from Milvus by row, and the figure rows stored as JSON (with their ledger
vectors), as the embedded store's ``snapshot`` is the read side of ``embedded``.
"""

import base64
import dataclasses
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from retrieval.reports.documents import Passage, Report
from retrieval.reports.figures import Figure
from retrieval.search import dense, lexical
from retrieval.store import FigureRow, LedgerRecord, Origin
from retrieval.store.snapshot import RowsAndTerms

PREFIX = "fazhi_"
BATCH = 1000
_CACHED = 20_000
_BATCH_REPORTS = 50
DENSE_EF = 256
ROW_JSON = 8192  # the figure row field's length (counted in bytes here, to be safe)
_QUERY_LIMIT = 16384  # the most rows one Milvus query returns


def figure_json(row: FigureRow, key: str = "", vector: np.ndarray | None = None) -> str:
    """A figure row, with its ledger vector (float32, base64) and the vectors' key when made at indexing."""
    fields: dict[str, Any] = dataclasses.asdict(row)
    plain = json.dumps(fields, ensure_ascii=False)
    if vector is None:
        return plain
    fields.update(ledger_key=key, ledger_vector=base64.b64encode(vector.astype(np.float32).tobytes()).decode())
    text = json.dumps(fields, ensure_ascii=False)
    return text if len(text.encode()) <= ROW_JSON else plain  # too long for the field: the ledger folder keeps it


def figure_row(text: str) -> FigureRow:
    return ledger_row(text)[0]


def ledger_row(text: str) -> tuple[FigureRow, str, np.ndarray | None]:
    fields = json.loads(text)
    key, vector = fields.pop("ledger_key", ""), fields.pop("ledger_vector", None)
    row = FigureRow(**{**fields, "figure": Figure(**fields["figure"]), "span": tuple(fields["span"]),
                       "clause": tuple(fields["clause"]), "phrase": tuple(fields["phrase"])})
    return row, key, None if vector is None else np.frombuffer(base64.b64decode(vector), np.float32)


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
        for lo in range(0, len(rows), BATCH):
            chunk = [int(r) for r in rows[lo:lo + BATCH]]
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
                    out[hit["doc_id"]].append(ledger_row(hit["row_json"]))
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
        for lo in range(0, len(missing), BATCH):
            chunk = missing[lo:lo + BATCH]
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
    iterator = client.query_iterator(PREFIX + name, batch_size=BATCH, filter=where, output_fields=fields)
    while batch := iterator.next():
        yield from batch
    iterator.close()

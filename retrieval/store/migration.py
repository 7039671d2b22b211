"""An embedded store of format 2 or 3 brought to format 4 in place, in one SQLite transaction: a reader sees
the old format (which this code does not read) or all of format 4, and a migration killed midway leaves the
old format for the next one. Vectors and BM25 files stay as they are.

- format 2 kept only the figure, not where its clause stands or the noun after it: the figure rows are made
  again from the stored passages;
- format 3 kept one table row per figure: its rows are read back;
- format 4 keeps one ledger record per report (its rows, their sentences and, when ``vectors`` gives them, the
  rows' vectors: the ledger's kept vectors are moved in rather than made again);
- a store of format 4 indexed with an earlier extraction (``figures.EXTRACTION``; none recorded is the first)
  has its figure rows made again from the stored passages, so new kinds of figure reach the reports indexed
  before.
"""

import json
import logging
import sqlite3

from retrieval.reports.documents import Passage
from retrieval.reports.figures import EXTRACTION
from retrieval.store import FigureMaker, LedgerVectors
from retrieval.store.schema import FORMAT, SCHEMA, commit_meta, read_figures, read_meta, stored_reports, write_ledger

log = logging.getLogger(__name__)
PREVIOUS = ("2", "3")


def migrate(con: sqlite3.Connection, figures: FigureMaker, vectors: LedgerVectors | None = None) -> bool:
    """Migrate the store of ``con`` when it is of a previous format (the caller holds the writer lock)."""
    meta = read_meta(con)
    stale = meta.get("format") == str(FORMAT) and meta.get("extraction") != EXTRACTION
    if (meta.get("format") not in PREVIOUS and not stale) or "generation" not in meta:
        return False
    con.execute("BEGIN IMMEDIATE")
    try:
        reports = list(stored_reports(con))
        log.info("migrating %d reports from store format %s (extraction %s) to %d (extraction %s)", len(reports),
                 meta["format"], meta.get("extraction", "1"), FORMAT, EXTRACTION)
        con.execute("DROP TABLE IF EXISTS ledgers")
        for statement in SCHEMA.split(";"):
            if "ledgers" in statement:
                con.execute(statement)
        for report, _, first, count in reports:
            found = con.execute("SELECT section, text FROM passages WHERE row BETWEEN ? AND ? ORDER BY row",
                                (first, first + count - 1)).fetchall()
            passages = [Passage(report.doc_id, tuple(json.loads(section)), text) for section, text in found]
            made = read_figures(con, first, count) if meta["format"] == "3" else figures(passages)
            kept = vectors(report.doc_id, passages, made) if vectors is not None else None
            write_ledger(con, report.doc_id, first, passages, made, *(kept or ("", None)))
        con.execute("DROP TABLE IF EXISTS figures")
        meta.update(format=str(FORMAT), extraction=EXTRACTION, generation=str(int(meta["generation"]) + 1))
        commit_meta(con, meta)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True

"""An embedded store of format 2 brought to format 3 in place: the figure rows made again from the stored
passages (format 2 kept only the figure, not where its clause stands or the noun after it), and the format
raised, in one SQLite transaction: a reader sees format 2 (which this code does not read) or all of format
3, and a migration killed midway leaves format 2 for the next one. Vectors and BM25 files stay as they are.
"""

import json
import logging
import sqlite3

from retrieval.reports.documents import Passage
from retrieval.store import FigureMaker
from retrieval.store.schema import FORMAT, INSERT_FIGURE, SCHEMA, commit_meta, figure_values, read_meta, stored_reports

log = logging.getLogger(__name__)
PREVIOUS = 2


def migrate(con: sqlite3.Connection, figures: FigureMaker) -> bool:
    """Migrate the store of ``con`` when it is of the previous format (the caller holds the writer lock)."""
    meta = read_meta(con)
    if meta.get("format") != str(PREVIOUS) or "generation" not in meta:
        return False
    con.execute("BEGIN IMMEDIATE")
    try:
        reports = list(stored_reports(con))
        log.info("migrating the figure rows of %d reports to store format %d", len(reports), FORMAT)
        con.execute("DROP TABLE IF EXISTS figures")
        for statement in SCHEMA.split(";"):
            if "figures" in statement:
                con.execute(statement)
        for report, _, first, count in reports:
            found = con.execute("SELECT section, text FROM passages WHERE row BETWEEN ? AND ? ORDER BY row",
                                (first, first + count - 1)).fetchall()
            passages = [Passage(report.doc_id, tuple(json.loads(section)), text) for section, text in found]
            con.executemany(INSERT_FIGURE, [figure_values(report.doc_id, first, f) for f in figures(passages)])
        meta.update(format=str(FORMAT), generation=str(int(meta["generation"]) + 1))
        commit_meta(con, meta)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True

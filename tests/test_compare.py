"""Questions over many units (``retrieval.answers.decide.scope``): one candidates call per retriever, the per-report
decision only where the candidates fall, the top N shown with the counts of units with and without the
figure, and the full table as a CSV (in Telegram a document, in the CLI ``fazhi ask --csv FILE``).

The corpus is synthetic: the 太平镇 seed under made-up unit names, each with its own number of mediators
(some without the sentence, some of another year), indexed with the deterministic ``HashEncoder``; what
the answers must say is worked out from how the corpus was made, and checked against deciding in every
report (the path a question naming its units takes).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from fakebotapi import FakeBotApi
from test_bot import (  # noqa: F401 - fixtures
    USER,
    RunningBot,
    api,
    cache_dir,
    engine,
    index_dir,
    say,
    seen,
    start_bot,
)

from bot.cli import main
from embeddings import HASH_MODEL, HashEncoder
from retrieval.answers.decide.scope import ScopeConfig
from retrieval.answers.reply import compose
from retrieval.answers.reply.answer import Answer
from retrieval.answers.reply.render import NO_FIGURE, comparison_rows, render, table_csv
from retrieval.engine import Engine, EngineConfig
from retrieval.search.hybrid import Searcher
from seeds import seed_paths

TAIPING = next(path for path in seed_paths() if path.name.startswith("002_"))
UNITS = 20
TOP = 5
QUESTION = "各镇有多少人民调解员？"
EVERY_REPORT = ScopeConfig(few=10_000, top=10_000)
_NAMES = "青松柏杨柳桃李梅竹兰菊荷枫桂槐榆杉椿楠桐"


@dataclass(frozen=True)
class Corpus:
    engine: Engine
    mediators: dict[str, int]  # source file → mediators its report prints (absent: none)
    years: dict[str, int]  # source file → the report's year


def _write(folder: Path, number: int) -> tuple[Path, int | None, int]:
    """One synthetic report: every third without the mediators’ figure, every other of 2022."""
    text = TAIPING.read_text(encoding="utf-8").replace("太平镇", f"{_NAMES[number]}{_NAMES[-1 - number]}镇")
    mediators = None if number % 3 == 2 else 30 + 7 * number
    if mediators is None:
        text = text.replace("、专兼职人民调解员63名", "")
    else:
        text = text.replace("调解员63名", f"调解员{mediators}名")
    year = 2022 if number % 2 else 2023
    if year == 2022:
        text = text.replace("2023年", "2022年")
    path = folder / f"unit-{number:02d}.txt"
    path.write_text(text, encoding="utf-8")
    return path, mediators, year


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Corpus:
    folder = tmp_path_factory.mktemp("units")
    made = [_write(folder, number) for number in range(UNITS)]
    config = EngineConfig(index_dir=folder / "index", cache_dir=model_cache, model=HASH_MODEL,
                          scope=ScopeConfig(top=TOP))
    built = Engine.open(config, encoder=HashEncoder(), rebuild_from=[path for path, _, _ in made])
    return Corpus(built, {p.name: m for p, m, _ in made if m is not None}, {p.name: y for p, _, y in made})


def _town(corpus: Corpus, name: str) -> str:
    return next(r.town for r in corpus.engine.reports() if Path(r.source).name == name)


def _expected(corpus: Corpus, year: int | None = None) -> tuple[dict[str, str], set[str]]:
    """(unit → the figure its report prints, units without one), for the reports of ``year`` (all)."""
    chosen = [name for name, y in corpus.years.items() if year is None or y == year]
    having = {_town(corpus, n): f"{corpus.mediators[n]}名" for n in chosen if n in corpus.mediators}
    return having, {_town(corpus, n) for n in chosen if n not in corpus.mediators}


def _every_report(corpus: Corpus, question: str) -> Answer:
    engine = corpus.engine
    return Engine(replace(engine.config, scope=EVERY_REPORT), engine.encoder, engine.store, engine.searcher).ask(
        question)


def _table(answer_csv: str) -> tuple[dict[str, str], set[str]]:
    rows = list(csv.DictReader(io.StringIO(answer_csv.lstrip("\ufeff"))))
    having = {r["单位"]: r["数字"] for r in rows if r["数字"] != NO_FIGURE}
    assert len(having) + sum(r["数字"] == NO_FIGURE for r in rows) == len(rows), "one row per unit"
    return having, {r["单位"] for r in rows if r["数字"] == NO_FIGURE}


def _figures(answer: Answer, *, everything: bool = False) -> dict[str, str]:
    return {row.unit: str(row.figure) for row in comparison_rows(answer, everything=everything)}


def test_top_n_counts_and_full_table(corpus: Corpus) -> None:
    having, without = _expected(corpus)
    answer = corpus.engine.ask(QUESTION)
    assert answer.kind == "compare" and len(answer.citations) == TOP
    assert (answer.units_with, answer.units_without) == (len(having), len(without))
    assert f"共{len(having)}个单位有此数字，{len(without)}个没有" in answer.text
    shown = _figures(answer)
    assert all(having[unit] == figure for unit, figure in shown.items()), "each unit's own figure"
    assert _figures(answer, everything=True) == having
    assert _table(table_csv(answer)) == (having, without)
    json = answer.to_json()
    assert len(json["figures"]) == TOP and (json["units_with"], json["units_without"]) == (len(having), len(without))


def test_same_answers_as_deciding_in_every_report(corpus: Corpus) -> None:
    grouped, everywhere = corpus.engine.ask(QUESTION), _every_report(corpus, QUESTION)
    assert not everywhere.more and _figures(everywhere) == _figures(grouped, everything=True)
    assert set(everywhere.missing) == set(grouped.missing)


def test_most_shows_the_largest_first(corpus: Corpus) -> None:
    having, _ = _expected(corpus)
    answer = corpus.engine.ask("哪个镇的人民调解员最多？")
    largest = sorted(having.values(), key=lambda figure: -int(figure.rstrip("名")))[:TOP]
    assert [row.figure for row in comparison_rows(answer)] == largest


def test_least_shows_the_smallest_first(corpus: Corpus) -> None:
    having, _ = _expected(corpus)
    answer = corpus.engine.ask("哪个镇的人民调解员最少？")
    smallest = sorted(having.values(), key=lambda figure: int(figure.rstrip("名")))[:TOP]
    assert [row.figure for row in comparison_rows(answer)] == smallest


def test_year_filter_is_pushed_down(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[dict[str, object]] = []
    candidates = Searcher.candidates

    def spy(self: Searcher, text: str, k: int = 50, **filters: object) -> list:  # type: ignore[type-arg]
        asked.append(filters)
        return candidates(self, text, k, **filters)  # type: ignore[arg-type]

    monkeypatch.setattr(Searcher, "candidates", spy)
    having, without = _expected(corpus, 2022)
    answer = corpus.engine.ask("2022年各镇有多少人民调解员？")
    assert asked and asked[0]["years"] == {2022}
    assert _table(table_csv(answer)) == (having, without)


def test_only_reports_with_candidates_are_decided(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    decided: list[str] = []
    best_figure = compose.best_figure

    def counting(query, searcher, report, hits=None):  # type: ignore[no-untyped-def]
        decided.append(report.doc_id)
        return best_figure(query, searcher, report, hits)

    monkeypatch.setattr(compose, "best_figure", counting)
    engine = corpus.engine
    narrow = Engine(replace(engine.config, scope=ScopeConfig(candidates=6, top=TOP)), engine.encoder, engine.store,
                    engine.searcher)
    answer = narrow.ask(QUESTION)
    hits = engine.searcher.candidates(engine.understand(QUESTION).text, 6)
    assert sorted(decided) == sorted({engine.searcher.corpus.passages[h.row].doc_id for h in hits})
    assert len(decided) < UNITS and answer.units_with + answer.units_without == UNITS, "the others count as without"
    decided.clear()
    town = _town(corpus, "unit-00.txt")
    named = engine.ask(f"{town}有多少人民调解员？")
    assert len(decided) == 1 and named.kind == "figure", "a question naming its unit keeps deciding in it"
    assert named.citations[0].figure is not None and named.citations[0].figure.text == _expected(corpus)[0][town]


def test_cli_writes_the_full_table(corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    monkeypatch.setenv("FAZHI_CACHE_DIR", str(model_cache))
    monkeypatch.setenv("FAZHI_EMBED_MODEL", HASH_MODEL)
    monkeypatch.setenv("FAZHI_COMPARE_TOP", str(TOP))
    target = tmp_path / "table.csv"
    assert main(["ask", QUESTION, "--csv", str(target), "--index-dir", str(corpus.engine.config.index_dir)]) == 0
    out, err = capsys.readouterr()
    having, without = _expected(corpus)
    assert out.strip() == render(corpus.engine.ask(QUESTION), table=True).strip()
    assert str(target) in err and target.read_bytes().startswith("\ufeff".encode())
    assert _table(target.read_text(encoding="utf-8-sig")) == (having, without)
    assert main(["ask", QUESTION, "--csv", "-", "--index-dir", str(corpus.engine.config.index_dir)]) == 0
    assert _table(capsys.readouterr().out) == (having, without)


def test_telegram_sends_the_full_table_as_a_document(api: FakeBotApi, start_bot: Callable[..., RunningBot],
                                                     corpus: Corpus) -> None:
    start_bot(corpus.engine)
    [message] = say(api, QUESTION, user=USER)
    having, without = _expected(corpus)
    assert f"共{len(having)}个单位有此数字，{len(without)}个没有" in seen(message)
    [sent] = api.wait_for(lambda _: [c for c in api.requests("sendDocument", chat=USER) if c.status == 200])
    name, content = sent.files["document"]
    assert name.endswith("比较表.csv") and content.startswith("\ufeff".encode())
    assert _table(content.decode("utf-8-sig")) == (having, without)
    assert f"共{len(having)}个单位有此数字，{len(without)}个没有" in sent.params["caption"]
    [single] = say(api, f"{_town(corpus, 'unit-00.txt')}有多少人民调解员？", user=USER)
    assert len(api.requests("sendDocument", chat=USER)) == 1, "an answer that shows everything sends no file"
    assert _expected(corpus)[0][_town(corpus, "unit-00.txt")] in seen(single)

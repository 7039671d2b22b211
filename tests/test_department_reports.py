"""A department's report (a 县 市场监督管理局, written for these tests) indexed beside the seeds and asked of by
the names officials write it by: shortened (市场监管局), with or without its county, in full."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.engine import Engine

REPORT = Path(__file__).parent / "data" / "units" / "qinghe-scj-2023.txt"
UNIT = "清河县市场监督管理局"


@pytest.fixture(scope="module")
def engine(seed_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from retrieval.reports.indexing import parse_file

    folder = tmp_path_factory.mktemp("department-index")
    shutil.copytree(seed_engine.config.index_dir, folder / "index", symlinks=True)
    engine = Engine.open(replace(seed_engine.config, index_dir=folder / "index"), encoder=seed_engine.encoder)
    engine.add_reports([parse_file(REPORT)])
    return engine


def test_the_report_is_the_departments(engine: Engine) -> None:
    assert (UNIT, 2023) in {(r.town, r.year) for r in engine.reports()}


@pytest.mark.parametrize(("question", "figure"), [
    ("清河县市场监管局2023年立案查处了多少件案件？", "356件"),
    ("市场监管局罚没款一共多少钱", "486.7万元"),
    ("清河市场监管局持证执法人员有多少", "236名"),
    ("清河县市场监督管理局新增了多少户市场主体", "8732户"),
    ("市场监管局对轻微违法不予处罚的有几件", "47件"),
    ("市场监管局执法人员培训搞了多少场", "12场"),  # not the plan: "力争全年执法人员培训不少于15场"
    ("市场监管局明年执法人员培训打算搞多少场", "不少于15场"),
])
def test_a_shortened_name_finds_the_departments_figure(engine: Engine, question: str, figure: str) -> None:
    answer = engine.ask(question).to_json()
    assert answer["found"], question
    assert answer["figures"][0]["text"] == figure
    assert answer["figures"][0]["town"] == UNIT


def test_a_figure_the_department_does_not_report_is_not_found(engine: Engine) -> None:
    answer = engine.ask("清河市场监管局有多少个执法大队").to_json()
    assert not answer["found"] and not answer["figures"]


@pytest.mark.parametrize("question", ["泾阳县市场监管局立案查处了多少件案件", "清河县城关镇立案查处了多少件案件"])
def test_another_units_question_borrows_no_figure_of_the_department(engine: Engine, question: str) -> None:
    answer = engine.ask(question).to_json()
    assert not answer["found"] and not answer["figures"]

"""The `fazhi` command, run as a user would: answers, follow-ups, eval, sources, index changes, errors."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.engine import Engine
from retrieval.store import current_version

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def index_copy(seed_engine: Engine, tmp_path: Path) -> Path:
    """A private copy of the seeds' index, for commands that change it."""
    target = tmp_path / "index"
    shutil.copytree(seed_engine.config.index_dir, target, symlinks=True)
    return target


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_figure_and_source(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "太平镇有多少人民调解员？")
    assert code == 0
    assert "63名" in out and "太平镇（2023年）" in out and "《太平镇2023年度法治建设情况报告》" in out


def test_ask_json_with_history(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "--json", "--history", "中塘镇2021年化解了多少矛盾纠纷？", "那双塔镇呢？")
    data = json.loads(out)
    assert code == 0 and data["found"] is True
    assert data["figures"][0]["text"] == "98件" and data["figures"][0]["town"] == "双塔镇"
    assert data["answer"].startswith("双塔镇（2022年）")


def test_eval_writes_answers_and_prints_accuracy(env: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "gold.jsonl"
    rows = [
        {"id": "a1", "question": "太平镇有多少人民调解员？", "kind": "figure", "town": "太平镇", "year": 2023,
         "evidence": ["专兼职人民调解员63名"], "figures": ["63名"]},
        {"id": "a2", "question": "太平镇有多少公务员？", "kind": "none", "town": "太平镇", "year": 2023,
         "evidence": [], "figures": []},
        {"id": "a3", "question": "那双塔镇呢？", "kind": "followup", "town": "双塔镇", "year": 2022,
         "evidence": ["2022年我镇共化解矛盾纠纷98件"], "figures": ["98件"],
         "context": ["中塘镇2021年化解了多少矛盾纠纷？"]},
    ]
    gold.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    answers = tmp_path / "answers.jsonl"
    code, out, _ = run(capsys, "eval", str(gold), "--answers", str(answers), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["correct"] == 3 and summary["recall_at_3"] == 1.0
    written = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    assert [w["id"] for w in written] == ["a1", "a2", "a3"] and written[1]["found"] is False
    assert summary["none_with_figures"] == 0
    code, out, _ = run(capsys, "eval", str(gold))
    assert code == 0 and "准确率：3/3" in out and "none 题给出的数字：0" in out.splitlines()


def test_sources_lists_the_seed_reports(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sources")
    assert code == 0
    assert [line.split("\t")[:2] for line in out.splitlines()] == [
        ["中塘镇", "2021"], ["双塔镇", "2022"], ["太平镇", "2023"], ["官塘镇", "2020"], ["板溪镇", "2022"]]


def test_index_add_and_remove(env: Path, index_copy: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.txt"
    seed = (ROOT / "seeds" / "002_2896be808ceda779.txt").read_text(encoding="utf-8")
    report.write_text(seed.replace("太平镇", "青山镇").replace("63名", "57名"), encoding="utf-8")
    code, out, _ = run(capsys, "index", "--index-dir", str(index_copy), "--add", str(report))
    assert code == 0 and "已收录：青山镇（2023年）" in out
    _, out, _ = run(capsys, "ask", "--index-dir", str(index_copy), "青山镇有多少人民调解员？")
    assert "57名" in out and "青山镇" in out
    code, out, _ = run(capsys, "index", "--index-dir", str(index_copy), "--remove", "青山镇", "2023")
    assert code == 0 and "已删除：青山镇（2023年）" in out
    code, _, err = run(capsys, "index", "--index-dir", str(index_copy), "--remove", "青山镇", "2023")
    assert code == 1 and "没有这份报告" in err


def test_bad_file_is_refused_in_chinese(env: Path, index_copy: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    before = current_version(index_copy)
    old_word = tmp_path / "报告.doc"
    old_word.write_bytes(b"\xd0\xcf\x11\xe0 not a docx")
    code, _, err = run(capsys, "index", "--index-dir", str(index_copy), "--add", str(old_word))
    assert code == 1 and "请另存为 .docx" in err and "Traceback" not in err
    assert current_version(index_copy) == before is not None


def test_unavailable_model_is_explained(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FAZHI_EMBED_MODEL", str(tmp_path / "no-such-model"))
    code, _, err = run(capsys, "ask", "--index-dir", str(tmp_path / "index"), "太平镇有多少人民调解员？")
    assert code == 1 and "无法加载向量模型" in err and "FAZHI_EMBED_MODEL" in err


def test_help_is_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "回答一个问题" in out and "显示本帮助并退出" in out


def test_python_m_bot_answers(env: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "太平镇有多少人民调解员？"],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(done.stdout)["figures"][0]["text"] == "63名"
    assert "Loading weights" not in done.stderr


def test_retrieval_and_embeddings_never_import_upward() -> None:
    """Dependencies point one way: bot → retrieval → embeddings."""
    for package, banned in (("retrieval", ("telegram", "bot")), ("embeddings", ("telegram", "bot", "retrieval"))):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                assert not any(re.match(rf"({'|'.join(banned)})(\.|$)", n) for n in names), (path, names)

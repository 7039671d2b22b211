"""`fazhi`: ask, chat, index, sources, eval, bench and serve over one answer core."""

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings
from embeddings import ModelUnavailableError
from retrieval.answers.decide.decision import Decision
from retrieval.answers.reply.answer import Answer
from retrieval.engine import Engine
from retrieval.errors import FazhiError
from retrieval.store import current_version
from retrieval.store.schema import DB

READABLE_SUFFIXES = (".txt", ".md", ".docx", ".pdf")
GOLD_QUESTIONS = Path("../shared/eval/questions.jsonl")
DECISION = Path(__file__).resolve().parent.parent / "retrieval" / "data" / "decision.json"


def _engine(settings: Settings, args: argparse.Namespace) -> Engine:
    config = settings.engine_config(Path(args.index_dir) if args.index_dir else None)
    rebuild = _files(args.paths) if args.command == "index" and args.paths else []
    if not rebuild and current_version(config.index_dir, config.store) is None and not config.store and any(
            (config.index_dir / name).exists() for name in (DB, "current")):  # an index of an older format
        print(f"正在把旧格式的索引升级（{config.index_dir}），已收录的报告都保留……", file=sys.stderr)
    elif rebuild or current_version(config.index_dir, config.store) is None:
        what = f"{len(rebuild)} 份报告" if rebuild else "内置的 5 份报告"
        print(f"正在用{what}建立索引（{config.index_dir}），首次约需 1 分钟……", file=sys.stderr)
    # `fazhi train` refits the decision, so it must open even when the shipped one predates new features
    decision = Decision.untrained() if args.command == "train" else None
    return Engine.open(config, progress=sys.stderr.isatty(), rebuild_from=rebuild, decision=decision)


def cmd_ask(engine: Engine, args: argparse.Namespace) -> int:
    from retrieval.answers.reply.render import render, truncated

    answer = engine.ask(args.question, args.history or ())
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=1))
    elif args.csv != "-":
        print(render(answer, table=True))
    if args.csv:
        _write_table(answer, args.csv)
    elif truncated(answer) and not args.json:
        print("完整比较表：加 --csv 文件名.csv 保存为 CSV（Excel 可直接打开）", file=sys.stderr)
    if args.chart:
        from retrieval.answers.reply.chart import bar_chart

        Path(args.chart).write_bytes(bar_chart(answer))
        print(f"图表已保存：{args.chart}", file=sys.stderr)
    return 0


def _write_table(answer: Answer, target: str) -> None:
    """The full comparison table as CSV into ``target`` (with a BOM, for Excel) or on stdout for ``-``."""
    from retrieval.answers.reply.render import comparison_rows, is_table, table_csv

    if not is_table(answer):
        print("这个回答不是数字比较，没有比较表可以写入 CSV。", file=sys.stderr)
        return
    table = table_csv(answer)
    if target == "-":
        print(table, end="")
        return
    Path(target).write_text(table, encoding="utf-8-sig")
    rows = len(comparison_rows(answer, everything=True))
    print(f"比较表已保存：{target}（{rows} 个单位有数字，{len(answer.missing)} 份报告未给出）", file=sys.stderr)


def cmd_review(settings: Settings, args: argparse.Namespace) -> int:
    """``fazhi review``: the figures users reported, as a list or CSV; ``--export`` writes the confirmed ones
    as gold questions."""
    from retrieval.tools.review import STATUS_NAMES, ReviewStore, items_csv, write_gold

    store = ReviewStore(settings.review_path(Path(args.index_dir) if args.index_dir else None))
    items = store.items()
    if args.export:
        count = write_gold(items, Path(args.export))
        print(f"已导出 {count} 道评测题到 {args.export}（确认有误且填了正确数字的纠错）", file=sys.stderr)
    elif args.csv:
        print(items_csv(items), end="")
    else:
        for item in items:
            correct = f" → {item.correct}" if item.correct else ""
            print(f"#{item.id}\t{STATUS_NAMES[item.status]}\t{item.created}\t{item.town}{item.year}年\t"
                  f"{item.figure}{correct}\t{item.question}")
        print(f"共 {len(items)} 条纠错（{store.path}）", file=sys.stderr)
    return 0


def cmd_chat(engine: Engine, args: argparse.Namespace) -> int:
    print("法治报告问答（输入问题后回车；“新话题”清空上下文；Ctrl-D 退出）")
    history: list[str] = []
    while True:
        try:
            question = input("问：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question in ("新话题", "清空"):
            history.clear()
            continue
        if question:
            print(engine.ask(question, history[-4:]).text, end="\n\n")
            history.append(question)


def _files(paths: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() in READABLE_SUFFIXES)
        else:
            found.append(path)
    return found


def cmd_index(engine: Engine, args: argparse.Namespace) -> int:
    from retrieval.reports.indexing import parse_file

    if args.remove:
        town, year = args.remove
        gone = engine.remove_report(town, int(year))
        print(f"已删除：{gone.label}《{gone.title}》")
    files = _files(args.add or [])
    if files:
        parsed = [parse_file(p, unit=args.unit, year=args.year) for p in files]
        for result in engine.add_reports(parsed, progress=sys.stderr.isatty()):
            note = f"（替换了旧报告《{result.replaced.title}》）" if result.replaced else ""
            print(f"已收录：{result.report.label}《{result.report.title}》，{result.report.passages} 段{note}")
    print(f"索引位置：{engine.config.index_dir}，共 {len(engine.reports())} 份报告")
    return 0


def cmd_sources(engine: Engine, args: argparse.Namespace) -> int:
    reports = engine.reports()
    if args.json:
        print(json.dumps([vars(r) for r in reports], ensure_ascii=False, indent=1))
        return 0
    for r in reports:
        print(f"{r.town}\t{r.year}\t{r.passages} 段\t{r.figures} 个数字\t《{r.title}》")
    return 0


def cmd_eval(engine: Engine, args: argparse.Namespace) -> int:
    from retrieval.tools.evaluate import Report, read_gold, summary_lines

    report, lines = Report(), []
    for gold in read_gold(Path(args.file)):
        answer = engine.ask(gold["question"], gold.get("context") or ()).to_json()
        report.add(gold, answer)
        lines.append(json.dumps({"id": gold["id"], **answer}, ensure_ascii=False) + "\n")
    if args.answers:
        Path(args.answers).write_text("".join(lines), encoding="utf-8")
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else "\n".join(summary_lines(report)))
    return 0


def cmd_ledger(engine: Engine, args: argparse.Namespace) -> int:
    from retrieval.answers.decide.ledger import to_csv

    searcher = engine.searcher
    town = args.town
    if town and town not in searcher.towns:  # 太平, 市场监管局: the unit as officials write it
        from retrieval.answers.question.towns import TownIndex, find_towns

        named = find_towns(town, TownIndex(searcher.towns))[0]
        if len(named) != 1:
            units = "、".join(sorted(searcher.towns))
            print(f"--town {town}：{'对应多个单位：' + '、'.join(named) if named else '没有这个单位的报告'}。"
                  f"现有单位：{units}", file=sys.stderr)
            return 2
        town = named[0]
    table = to_csv(searcher.ledger, searcher.corpus.passages, searcher.corpus.reports, town=town, year=args.year)
    if args.csv:
        Path(args.csv).write_text(table, encoding="utf-8")
        print(f"已写入 {args.csv}：{table.count(chr(10)) - 1} 个数字")
    else:
        sys.stdout.write(table.lstrip("\ufeff").replace(",", "\t"))
    return 0


def cmd_train(engine: Engine, args: argparse.Namespace) -> int:
    from retrieval.answers.decide.decision import fit
    from retrieval.tools.evaluate import read_gold
    from retrieval.tools.training import examples, leave_one_report_out, summary

    golds = [gold for path in args.files for gold in read_gold(Path(path))]
    items = examples(engine, golds)
    decision = fit(items)
    print("\n".join(summary(decision, items, leave_one_report_out(items) if args.loro else {})))
    decision.save(Path(args.out))
    print(f"已写入 {args.out}（{len(golds)} 个问题）")
    return 0


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    config = settings.engine_config(Path(args.index_dir) if args.index_dir else None)
    if args.scale:
        from retrieval.tools.scale import run_scale

        figures = run_scale(config, args.scale, stores=tuple(args.stores.split(",")))
    else:
        from retrieval.tools.bench import run_bench

        figures = run_bench(config, rounds=args.rounds, questions=Path(args.questions) if args.questions else None,
                            serve_command=[sys.executable, "-m", "bot.memory"])
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=1))
    else:
        for key, value in figures.items():
            print(f"{key:<24}{value}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import run

    return run(settings)


def _in_chinese(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p._positionals.title, p._optionals.title = "参数", "选项"
    p.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    return p


def parser() -> argparse.ArgumentParser:
    top = _in_chinese(argparse.ArgumentParser(
        prog="fazhi", add_help=False, description="乡镇法治政府建设报告问答：数字逐字引用，注明出处。",
        epilog="例如：fazhi ask \"太平镇有多少人民调解员？\"；各命令的用法：fazhi 命令 --help"))
    sub = top.add_subparsers(dest="command", required=True, metavar="命令", title="命令")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = _in_chinese(sub.add_parser(name, help=help_text, description=help_text, add_help=False))
        p.add_argument("--index-dir", metavar="DIR", help="索引目录（默认 $FAZHI_INDEX_DIR 或 ~/.cache/fazhi/index）")
        return p

    ask = command("ask", "回答一个问题（没有索引时先用内置报告建立）")
    ask.add_argument("question", metavar="问题")
    ask.add_argument("--json", action="store_true", help="输出 JSON（供其他程序读取）")
    ask.add_argument("--history", action="append", metavar="Q", help="同一对话中之前的问题，按先后顺序，可重复")
    ask.add_argument("--chart", metavar="FILE.png", help="比较类问题：把各报告的数字画成柱状图，存为 PNG")
    ask.add_argument("--csv", metavar="FILE", help="比较类问题：完整比较表写成 CSV 文件（- 为标准输出）")
    command("chat", "交互问答，记住追问的上下文")
    index = command("index", "建立或更新索引：PATH 为文件或文件夹（默认内置报告）")
    index.add_argument("paths", nargs="*", metavar="PATH", help=".txt/.md/.docx/.pdf 文件或文件夹")
    index.add_argument("--add", nargs="+", metavar="FILE", help="追加报告（同一单位同年的旧报告被替换）")
    index.add_argument("--unit", metavar="单位", help="与 --add 同用：报告的单位（如 城南区），不从报告中识别")
    index.add_argument("--year", type=int, metavar="年份", help="与 --add 同用：报告的年份（如 2024）")
    index.add_argument("--remove", nargs=2, metavar=("单位", "YEAR"), help="删除某单位某年的报告")
    sources = command("sources", "列出已收录的报告（镇、年份、标题、段落数、数字数）")
    sources.add_argument("--json", action="store_true", help="输出 JSON")
    ev = command("eval", "用标准问题集评测（准确率与检索召回）")
    ev.add_argument("file", metavar="FILE", help="questions.jsonl")
    ev.add_argument("--answers", metavar="OUT", help="把每个回答的 JSON 写入此文件，一行一个")
    ev.add_argument("--json", action="store_true", help="输出 JSON")
    bench = command("bench", "性能测试：冷启动、建索引速度、回答延迟、内存峰值")
    bench.add_argument("--json", action="store_true", help="输出 JSON")
    bench.add_argument("--rounds", type=int, default=3, help="每个问题回答的轮数（默认 3）")
    bench.add_argument("--questions", metavar="FILE", default=str(GOLD_QUESTIONS),
                       help="计时用的问题（questions.jsonl 格式，默认 ../shared/eval/questions.jsonl；"
                            "文件不存在时用内置的 5 个问题）")
    bench.add_argument("--scale", type=int, metavar="N", help="用 N 段合成语料（由内置报告改名生成，缓存）测检索规模")
    bench.add_argument("--stores", default="embedded", metavar="S",
                       help="--scale 时测哪些存储，逗号分隔：embedded,milvus（默认 embedded）")
    ledger = command("ledger", "数字台账：每份报告的每个数字（单位、年份、章节、数字、计数对象、原句）")
    ledger.add_argument("--town", metavar="单位", help="只列这个单位")
    ledger.add_argument("--year", type=int, metavar="年份", help="只列这一年")
    ledger.add_argument("--csv", metavar="FILE", help="写成 CSV 文件（Excel 可直接打开）")
    train = command("train", "用标注问题重新拟合选数字的模型，并报告留一报告的准确率")
    train.add_argument("files", nargs="+", metavar="FILE", help="标注问题（questions.jsonl 格式），需已建索引")
    train.add_argument("--out", metavar="FILE", default=str(DECISION),
                       help="写入的权重文件（默认随包的 decision.json）")
    train.add_argument("--no-loro", dest="loro", action="store_false", help="不做留一报告评测（更快）")
    command("serve", "运行 Telegram 机器人（需要 TELEGRAM_BOT_TOKEN）")
    review = command("review", "列出用户报告的“这个数字不对”（纠错记录）")
    review.add_argument("--csv", action="store_true", help="以 CSV 输出全部字段")
    review.add_argument("--export", metavar="GOLD.jsonl",
                        help="把确认有误并填了正确数字的纠错导出为评测题（fazhi eval 可读）")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "index" and (args.unit or args.year) and not args.add:
        print("--unit 和 --year 只能与 --add 同用，例如：fazhi index --add 报告.docx --unit 城南区 --year 2024",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if args.command == "serve" else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = Settings.from_env()
    try:
        if args.command in ("bench", "serve", "review"):
            return {"bench": cmd_bench, "serve": cmd_serve, "review": cmd_review}[args.command](settings, args)
        handler = {"ask": cmd_ask, "chat": cmd_chat, "index": cmd_index, "sources": cmd_sources,
                   "eval": cmd_eval, "ledger": cmd_ledger, "train": cmd_train}[args.command]
        return handler(_engine(settings, args), args)
    except FazhiError as error:
        from bot.replies import plain, report_error

        print(plain(report_error(error)), file=sys.stderr)
    except ModelUnavailableError as error:
        from bot.replies import MODEL_UNAVAILABLE

        print(MODEL_UNAVAILABLE.format(model=error.model, reason=error.reason), file=sys.stderr)
    except FileNotFoundError as error:
        print(f"找不到文件：{error.filename}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

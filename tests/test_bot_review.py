"""End-to-end tests of comparison tables, charts, "这个数字不对" and the admin commands, through the fake Bot
API on 127.0.0.1 with the real engine over the bundled seeds (fixtures shared with test_bot.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fakebotapi import Call, FakeBotApi
from pixels import bar_count
from test_bot import (  # noqa: F401 - fixtures
    ADMIN,
    NEW_REPORT,
    OTHER,
    USER,
    RunningBot,
    _upload,
    api,
    cache_dir,
    engine,
    index_dir,
    own_engine,
    say,
    seen,
    start_bot,
)

from bot import replies
from retrieval.answers.reply.render import comparison_rows, render
from retrieval.engine import Engine
from retrieval.tools.review import ReviewStore
from seeds import seed_paths

COMPARE = "各镇网格员分别是多少？"


def buttons(call: Call) -> dict[str, str]:
    """The inline buttons of a sent message: text → callback data."""
    rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


def press(api: FakeBotApi, call: Call, text: str, *, user: int, chat: int | None = None,
          replies_expected: int = 1) -> list[Call]:
    """``user`` presses the button ``text`` under ``call``; returns the bot's new messages to the chat."""
    chat_id = user if chat is None else chat
    before = len(api.sent(chat_id))
    api.callback(buttons(call)[text], user=user, message=call.result)
    return api.wait_sent(chat_id, before + replies_expected)[before:]


def alert(api: FakeBotApi, text: str) -> list[Call]:
    return api.wait_for(lambda calls: [c for c in calls if c.method == "answerCallbackQuery"
                                       and c.params.get("text") == text])


def photos(api: FakeBotApi, chat: int) -> list[Call]:
    return [c for c in api.requests("sendPhoto", chat=chat) if c.status == 200]


@pytest.fixture
def admin_bot(start_bot: Callable[..., RunningBot]) -> RunningBot:
    return start_bot(FAZHI_ADMIN_USERS=str(ADMIN))


# ---- tables and charts -------------------------------------------------------------------------------------


def test_comparison_comes_as_a_table_with_a_chart_button(api: FakeBotApi, admin_bot: RunningBot,
                                                         engine: Engine) -> None:
    core = engine.ask(COMPARE)
    rows = comparison_rows(core)
    assert len(rows) >= 2
    [answer] = say(api, COMPARE)
    assert answer.text == render(core, html=True, table=True)
    assert "<pre>" in answer.text
    table = answer.text.split("<pre>")[1].split("</pre>")[0]
    for row in rows:
        assert row.unit in table and str(row.year) in table and str(row.figure) in table
    for _, citation in core.figures():
        assert citation.sentence[:30] in seen(answer), "the citations follow the table"
    assert set(buttons(answer)) >= {replies.CHART_BUTTON, replies.WRONG_BUTTON}

    press(api, answer, replies.CHART_BUTTON, user=USER, replies_expected=0)
    [photo] = api.wait_for(lambda _: photos(api, USER))
    name, png = photo.files["photo"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and name.endswith(".png")
    assert bar_count(png) == len(rows)
    assert core.lead in photo.params["caption"]


def test_chart_command_sends_table_and_photo(api: FakeBotApi, admin_bot: RunningBot, engine: Engine) -> None:
    [table] = say(api, "/chart 网格员")
    assert "<pre>" in table.text
    [photo] = api.wait_for(lambda _: photos(api, USER))
    expected = engine.ask(replies.CHART_QUESTION.format(topic="网格员"))
    assert bar_count(photo.files["photo"][1]) == len(comparison_rows(expected)) >= 2
    [usage] = say(api, "/chart")
    assert seen(usage) == replies.CHART_USAGE


def test_single_figure_answer_has_no_chart_button(api: FakeBotApi, admin_bot: RunningBot) -> None:
    [answer] = say(api, "太平镇有多少人民调解员？")
    assert replies.CHART_BUTTON not in buttons(answer) and replies.WRONG_BUTTON in buttons(answer)


# ---- "这个数字不对" ----------------------------------------------------------------------------------------------


def test_wrong_figure_is_kept_across_a_restart_and_resolved_by_an_admin(
        api: FakeBotApi, start_bot: Callable[..., RunningBot], engine: Engine, tmp_path: Path) -> None:
    db = {"FAZHI_REVIEW_DB": str(tmp_path / "kept.sqlite3"), "FAZHI_ADMIN_USERS": str(ADMIN)}
    first = start_bot(**db)
    [answer] = say(api, "太平镇有多少人民调解员？")
    [thanks] = press(api, answer, replies.WRONG_BUTTON, user=USER)
    assert "谢谢" in seen(thanks) and "63名" in seen(thanks)
    [notice] = api.wait_sent(ADMIN, 1)
    assert "63名" in seen(notice) and "太平镇有多少人民调解员？" in seen(notice)
    first.stop()

    start_bot(**db)  # a new process would find the same database
    [refusal] = say(api, "/review", user=OTHER)
    assert seen(refusal) == replies.ADMIN_ONLY
    header, item = say(api, "/review", user=ADMIN, replies_expected=2)
    assert "1 条" in seen(header)
    passage = engine.ask("太平镇有多少人民调解员？").citations[0].source.passage
    assert "63名" in seen(item) and passage[:40] in seen(item)
    assert set(buttons(item)) == {replies.REVIEW_WRONG_BUTTON, replies.REVIEW_OK_BUTTON}

    api.callback(buttons(item)[replies.REVIEW_WRONG_BUTTON], user=OTHER, message=item.result)
    alert(api, replies.ADMIN_ONLY)
    assert ReviewStore(Path(db["FAZHI_REVIEW_DB"])).items("open"), "a non-admin resolves nothing"

    edited, prompt = press(api, item, replies.REVIEW_WRONG_BUTTON, user=ADMIN, replies_expected=2)
    assert edited.method == "editMessageText" and "确认有误" in seen(edited)
    assert prompt.params["reply_markup"]["force_reply"]
    [done] = say(api, "64名", user=ADMIN, reply_to=prompt.result)
    assert "64名" in seen(done)
    [stored] = ReviewStore(Path(db["FAZHI_REVIEW_DB"])).items()
    assert (stored.status, stored.correct, stored.figure, stored.town) == ("wrong", "64名", "63名", "太平镇")
    assert stored.user_id == USER and stored.chat_id == USER and '"63名"' in stored.answer_json
    [none_left] = say(api, "/review", user=ADMIN)
    assert seen(none_left) == replies.REVIEW_NONE


def test_several_figures_ask_which_one(api: FakeBotApi, admin_bot: RunningBot, engine: Engine,
                                       tmp_path: Path) -> None:
    [answer] = say(api, COMPARE)
    [which] = press(api, answer, replies.WRONG_BUTTON, user=USER)
    assert seen(which) == replies.WRONG_WHICH
    second = engine.ask(COMPARE).figures()[1]
    label = replies.figure_choice(second[1].source.report.label, second[0].text)
    [thanks] = press(api, which, label, user=USER)
    assert second[0].text in seen(thanks)
    [item] = ReviewStore(tmp_path / "reviews.sqlite3").items()
    assert (item.figure, item.town, item.kind) == (second[0].text, second[1].source.report.town, "compare")


def test_an_ok_item_leaves_the_open_list(api: FakeBotApi, admin_bot: RunningBot, tmp_path: Path) -> None:
    [answer] = say(api, "中塘镇2021年化解了多少矛盾纠纷？")
    press(api, answer, replies.WRONG_BUTTON, user=USER)
    api.wait_sent(ADMIN, 1)  # the admins' notice
    _, item = say(api, "/review", user=ADMIN, replies_expected=2)
    [edited] = press(api, item, replies.REVIEW_OK_BUTTON, user=ADMIN)
    assert "没有问题" in seen(edited)
    [stored] = ReviewStore(tmp_path / "reviews.sqlite3").items()
    assert stored.status == "ok" and stored.correct is None


def test_review_store_survives_an_index_rebuild(own_engine: Engine, engine: Engine) -> None:
    store = ReviewStore.beside(own_engine.config.index_dir)
    store.add(engine.ask("太平镇有多少人民调解员？"), 0, user_id=USER)
    [one] = [path for path in seed_paths() if "太平镇" not in path.read_text(encoding="utf-8")[:200]][:1]
    rebuilt = Engine.open(own_engine.config, encoder=engine.encoder, rebuild_from=[one])
    assert len(rebuilt.reports()) == 1, "the index was rebuilt from one report"
    assert [i.figure for i in ReviewStore.beside(own_engine.config.index_dir).items()] == ["63名"]


# ---- admin commands ------------------------------------------------------------------------------------------


def test_reports_lists_units_years_passages_figures(api: FakeBotApi, admin_bot: RunningBot, engine: Engine) -> None:
    [refusal] = say(api, "/reports", user=USER)
    assert seen(refusal) == replies.ADMIN_ONLY
    listing = "".join(seen(c) for c in say(api, "/reports", user=ADMIN))
    for report in engine.reports():
        assert f"{report.town} {report.year}年：{report.passages} 段，{report.figures} 个数字" in listing
    [admin_help] = say(api, "/help", user=ADMIN)
    [user_help] = say(api, "/help", user=USER)
    assert "/review" in seen(admin_help) and "/review" not in seen(user_help) and "/chart" in seen(user_help)


def test_remove_asks_for_confirmation(api: FakeBotApi, start_bot: Callable[..., RunningBot],
                                      own_engine: Engine) -> None:
    start_bot(bot_engine=own_engine, FAZHI_ADMIN_USERS=str(ADMIN))
    _upload(api, "qingshan.txt", NEW_REPORT.encode(), user=ADMIN)
    [refusal] = say(api, "/remove 青山镇 2024", user=USER)
    assert seen(refusal) == replies.ADMIN_ONLY
    [usage] = say(api, "/remove 青山镇", user=ADMIN)
    assert seen(usage) == replies.REMOVE_USAGE
    [unknown] = say(api, "/remove 青山镇 2019", user=ADMIN)
    assert "没有青山镇2019年的报告" in seen(unknown)

    [confirm] = say(api, "/remove 青山镇 2024", user=ADMIN)
    assert "青山镇（2024年）" in seen(confirm)
    [cancelled] = press(api, confirm, replies.REMOVE_NO, user=ADMIN)
    assert seen(cancelled) == replies.REMOVE_CANCELLED
    assert any(r.town == "青山镇" for r in own_engine.reports())

    [confirm] = say(api, "/remove 青山镇 2024", user=ADMIN)
    api.callback(buttons(confirm)[replies.REMOVE_YES], user=USER, message=confirm.result)
    alert(api, replies.ADMIN_ONLY)
    assert any(r.town == "青山镇" for r in own_engine.reports()), "a non-admin's press removes nothing"
    [done] = press(api, confirm, replies.REMOVE_YES, user=ADMIN)
    assert "已删除" in seen(done) and not any(r.town == "青山镇" for r in own_engine.reports())
    [answer] = say(api, "青山镇有多少网格员？", user=USER)
    assert "57名" not in seen(answer)


def test_ledger_is_sent_as_a_csv_file(api: FakeBotApi, admin_bot: RunningBot, engine: Engine) -> None:
    [refusal] = say(api, "/ledger 太平镇", user=USER)
    assert seen(refusal) == replies.ADMIN_ONLY
    [usage] = say(api, "/ledger", user=ADMIN)
    assert seen(usage) == replies.LEDGER_USAGE
    [unknown] = say(api, "/ledger 太平镇 2019", user=ADMIN)
    assert "没有太平镇2019年的报告" in seen(unknown)
    report = next(r for r in engine.reports() if r.town == "太平镇")
    api.message(f"/ledger 太平镇 {report.year}", user=ADMIN)
    [sent] = api.wait_for(lambda _: [c for c in api.requests("sendDocument", chat=ADMIN) if c.status == 200])
    name, content = sent.files["document"]
    assert name.endswith(".csv") and "太平镇" in name
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows and {row["单位"] for row in rows} == {"太平镇"} and {row["年份"] for row in rows} == {str(report.year)}
    searcher = engine.searcher
    texts = {row["数字"] for row in rows}
    expected = {e.figure.text for e in searcher.ledger.entries()
                if searcher.corpus.reports[searcher.corpus.passages[e.row].doc_id].town == "太平镇"}
    assert texts == expected and str(len(rows)) in sent.params["caption"]

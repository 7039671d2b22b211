"""End-to-end tests of the Telegram bot: the real Application (and once the real ``fazhi serve`` process)
against a fake Bot API server on 127.0.0.1, over the real engine built from the bundled seeds."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakebotapi import MAX_TEXT, Call, FakeBotApi, visible_text
from telegram.ext import Application

from bot import handlers, replies
from bot.app import build_application, poll, run
from bot.replies import split_html
from bot.settings import Settings
from retrieval.answers.reply.render import render
from retrieval.engine import Engine

TOKEN = "123456789:AAH-test-token-that-must-never-be-logged"
USER, OTHER, ADMIN, STRANGER = 1001, 1002, 42, 666
GROUP = -100200300
REPO = Path(__file__).resolve().parents[1]
HEADLINE = "太平镇有多少人民调解员？"
# Gold questions (shared/eval) with the figure the reports print.
GOLD = [
    pytest.param("太平镇有多少人民调解员？", "63名", id="mediators-63"),
    pytest.param("中塘镇2021年化解了多少矛盾纠纷？", "316件", id="disputes-316"),
    pytest.param("板溪镇调解了多少起矛盾纠纷？", "56起", id="disputes-56"),
    pytest.param("官塘镇2020年排查化解了几宗矛盾纠纷？", "14宗", id="disputes-14"),
]
NEW_REPORT = (
    "青山镇2024年法治政府建设工作报告\n\n"
    "2024年，青山镇深入学习贯彻习近平法治思想，扎实推进法治政府建设，现将有关情况报告如下。\n\n"
    "一、健全矛盾纠纷化解机制\n"
    "（一）加强人民调解队伍建设。全镇共有网格员57名，全年开展网格员法治培训12场。\n"
    "（二）推进法律顾问全覆盖。全镇19个村全部聘请法律顾问，全年开展法律咨询服务230人次。\n"
)


# ---- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def engine(seed_engine: Engine) -> Engine:
    """The real engine over the bundled seeds (tests/conftest.py builds its index once, in a temp dir)."""
    return seed_engine


@pytest.fixture(scope="session")
def cache_dir(model_cache: Path) -> Path:
    return model_cache


@pytest.fixture(scope="session")
def index_dir(seed_engine: Engine) -> Path:
    return seed_engine.config.index_dir


@pytest.fixture
def own_engine(engine: Engine, index_dir: Path, tmp_path: Path, cache_dir: Path) -> Engine:
    """An engine over a private copy of the index, for tests that add reports."""
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy, symlinks=True)
    return Engine.open(Settings.from_env(_env(cache_dir, copy)).engine_config(), encoder=engine.encoder)


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as server:
        yield server
        bad = [c for c in server.calls if c.status not in (200, 429)]
        assert not bad, [(c.method, c.status, c.result) for c in bad]
        assert all(len(c.text) <= MAX_TEXT for c in server.sent())


class RunningBot:
    """The real Application, long-polling the fake server from a thread of its own."""

    def __init__(self, application: Application) -> None:
        self.application = application
        self.error: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="bot", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            poll(self.application, stop_signals=None)
        except BaseException as error:  # noqa: BLE001 - reported by stop()
            self.error = error

    def start(self, api: FakeBotApi) -> RunningBot:
        self.thread.start()
        api.wait_for(lambda calls: any(c.method == "setMyCommands" for c in calls) or self.error, timeout=30)
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.application.stop_running)
            self.thread.join(30)
        assert not self.thread.is_alive(), "the bot did not stop"
        if self.error:
            raise self.error


@pytest.fixture
def start_bot(api: FakeBotApi, engine: Engine, cache_dir: Path, index_dir: Path,
              tmp_path: Path) -> Iterator[Callable[..., RunningBot]]:
    """Starts the bot (review database in this test's temp dir unless FAZHI_REVIEW_DB is given)."""
    bots: list[RunningBot] = []

    def start(bot_engine: Engine | None = None, **env: str) -> RunningBot:
        reviews = {"FAZHI_REVIEW_DB": str(tmp_path / "reviews.sqlite3")}
        settings = Settings.from_env({**_env(cache_dir, index_dir), **_telegram_env(api), **reviews, **env})
        bot = RunningBot(build_application(settings, bot_engine or engine)).start(api)
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        bot.stop()


@pytest.fixture
def bot(start_bot: Callable[..., RunningBot]) -> RunningBot:
    return start_bot(FAZHI_ADMIN_USERS=str(ADMIN))


def _env(cache_dir: Path, index_dir: Path) -> dict[str, str]:
    return {"FAZHI_CACHE_DIR": str(cache_dir), "FAZHI_INDEX_DIR": str(index_dir)}


def _telegram_env(api: FakeBotApi) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "FAZHI_TELEGRAM_API_URL": api.base_url,
            "FAZHI_TELEGRAM_FILE_URL": api.base_file_url}


def say(api: FakeBotApi, text: str | None = None, *, user: int = USER, chat: int | None = None,
        chat_type: str = "private", replies_expected: int = 1, **fields: Any) -> list[Call]:
    """A user sends a message; returns the bot's new messages to that chat once they arrived."""
    chat_id = user if chat is None else chat
    before = len(api.sent(chat_id))
    api.message(text, user=user, chat=chat_id, chat_type=chat_type, **fields)
    return api.wait_sent(chat_id, before + replies_expected)[before:]


def seen(call: Call) -> str:
    """What the user sees of a sent message."""
    return visible_text(call.text, call.params.get("parse_mode"))[0]


def reply_to(call: Call) -> int | None:
    return (call.params.get("reply_parameters") or {}).get("message_id")


def settle(seconds: float = 1.0) -> None:
    time.sleep(seconds)


# ---- private chat ----------------------------------------------------------------------------------------


def test_headline_question(api: FakeBotApi, bot: RunningBot, engine: Engine) -> None:
    [answer] = say(api, HEADLINE)
    assert "63名" in seen(answer) and "太平镇" in seen(answer)
    assert answer.params["parse_mode"] == "HTML"
    commands = api.requests("setMyCommands")[0].params["commands"]
    assert {c["command"] for c in commands} == {"ask", "chart", "sources", "help", "start"}


@pytest.mark.parametrize(("question", "figure"), GOLD)
def test_bot_answers_what_the_core_answers(api: FakeBotApi, bot: RunningBot, engine: Engine, question: str,
                                           figure: str) -> None:
    core = engine.ask(question)
    [answer] = say(api, question)
    assert answer.text == render(core, html=True)
    assert figure in seen(answer)
    for core_figure, _ in core.figures():
        assert core_figure.text in seen(answer)


def test_follow_up_uses_this_chats_history_only(api: FakeBotApi, bot: RunningBot, engine: Engine) -> None:
    [first] = say(api, "中塘镇2021年化解了多少矛盾纠纷？")
    assert "316件" in seen(first)
    [follow_up] = say(api, "那双塔镇呢？")
    assert "98件" in seen(follow_up) and "双塔镇" in seen(follow_up)
    [elsewhere] = say(api, "那双塔镇呢？", user=OTHER)
    assert elsewhere.text == render(engine.ask("那双塔镇呢？"), html=True), "no history crosses chats"


def test_history_expires_after_silence() -> None:
    chat_data: dict[str, Any] = {}
    handlers.remember_question(chat_data, "中塘镇2021年化解了多少矛盾纠纷？", now=100.0)
    for number in range(handlers.HISTORY_SIZE + 2):
        handlers.remember_question(chat_data, f"问题{number}", now=101.0 + number)
    assert len(handlers.recent_questions(chat_data, now=110.0)) == handlers.HISTORY_SIZE
    assert handlers.recent_questions(chat_data, now=110.0 + handlers.HISTORY_TTL_S) == ()


def test_commands(api: FakeBotApi, bot: RunningBot, engine: Engine) -> None:
    [start] = say(api, "/start")
    assert HEADLINE in seen(start)
    [help_reply] = say(api, "/help")
    assert "/ask" in seen(help_reply) and "@fazhi_test_bot" in seen(help_reply)
    [listing] = say(api, "/sources")
    for report in engine.reports():
        assert report.town in seen(listing) and str(report.year) in seen(listing)
        assert report.title in seen(listing)
    [asked] = say(api, "/ask 板溪镇调解了多少起矛盾纠纷？")
    assert "56起" in seen(asked)
    [usage] = say(api, "/ask")
    assert seen(usage) == replies.ASK_USAGE


def test_other_passages_button(api: FakeBotApi, bot: RunningBot, engine: Engine) -> None:
    core = engine.ask(HEADLINE)
    assert len(core.sources) > 1
    [answer] = say(api, HEADLINE)
    [[wrong], [button]] = answer.params["reply_markup"]["inline_keyboard"]
    assert wrong["text"] == replies.WRONG_BUTTON and button["text"] == replies.MORE_BUTTON
    before = len(api.sent(USER))
    api.callback(button["callback_data"], user=USER, message=answer.result)
    more = api.wait_sent(USER, before + 1)[before:]
    shown = "".join(seen(call) for call in more)
    assert core.sources[1].passage[:40] in shown and core.sources[1].report.town in shown
    assert api.requests("answerCallbackQuery")
    api.callback("more:unknown", user=USER, message=answer.result)
    expired = api.wait_for(lambda calls: [c for c in calls if c.method == "answerCallbackQuery"
                                          and c.params.get("text") == replies.MORE_EXPIRED])
    assert expired


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        pytest.param("   ", {}, replies.EMPTY_QUESTION, id="blank"),
        pytest.param("😀🎉👍", {}, replies.NOT_A_QUESTION, id="emoji-only"),
        pytest.param("调" * 4000, {}, "问题太长了", id="4000-chars"),
        pytest.param("/frobnicate", {}, replies.UNKNOWN_COMMAND, id="unknown-command"),
        pytest.param(None, {"sticker": {"file_id": "s1", "file_unique_id": "us1", "type": "regular", "width": 512,
                                        "height": 512, "is_animated": False, "is_video": False}},
                     replies.STICKER, id="sticker"),
        pytest.param(None, {"photo": [{"file_id": "p1", "file_unique_id": "up1", "width": 90, "height": 90}]},
                     replies.PHOTO, id="photo"),
        pytest.param(None, {"voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 3}},
                     replies.VOICE, id="voice"),
        pytest.param(None, {"location": {"latitude": 39.1, "longitude": 117.2}}, replies.OTHER_MEDIA, id="location"),
    ],
)
def test_bad_inputs_get_a_sensible_chinese_reply(api: FakeBotApi, bot: RunningBot, text: str | None,
                                                 fields: dict[str, Any], expected: str) -> None:
    [reply] = say(api, text, **fields)
    assert expected in seen(reply)


def test_english_question_is_answered_not_refused(api: FakeBotApi, bot: RunningBot) -> None:
    """English goes through the same answer core; the reply is in Chinese and cites the town's report."""
    [reply] = say(api, "How many people mediators are in Taiping town?")
    text = seen(reply)
    assert "中文提问" not in text
    assert "太平镇（2023年）" in text and "《太平镇2023年度法治建设情况报告》" in text


def test_html_looking_question_is_escaped(api: FakeBotApi, bot: RunningBot) -> None:
    [reply] = say(api, "<b>太平镇</b>有多少人民调解员？<script>alert(1)</script> & </i>")
    assert reply.status == 200 and seen(reply).strip()  # the fake server rejects malformed HTML with 400


def test_stranger_is_refused_when_allowed_users_is_set(api: FakeBotApi, start_bot: Callable[..., RunningBot]) -> None:
    start_bot(FAZHI_ALLOWED_USERS=f"{USER}")
    [refusal] = say(api, HEADLINE, user=STRANGER)
    assert seen(refusal) == replies.NOT_ALLOWED
    assert not api.requests("sendChatAction", chat=STRANGER)
    say(api, "大家好", user=STRANGER, chat=GROUP, chat_type="supergroup", replies_expected=0)
    api.inline("太平镇 人民调解员", user=STRANGER)
    [inline] = api.wait_for(lambda calls: [c for c in calls if c.method == "answerInlineQuery"])
    assert inline.params["results"] == []
    [answer] = say(api, HEADLINE, user=USER)
    assert "63名" in seen(answer)
    settle(0.5)
    assert len(api.sent(GROUP)) == 0, "strangers' group chatter gets no refusal either"


# ---- groups ----------------------------------------------------------------------------------------------


def test_group_answers_only_when_addressed(api: FakeBotApi, bot: RunningBot) -> None:
    group = {"chat": GROUP, "chat_type": "supergroup"}
    say(api, "大家好，今天的培训几点开始？", **group, replies_expected=0)
    say(api, "太平镇有多少人民调解员？", **group, replies_expected=0)
    say(api, "/frobnicate", **group, replies_expected=0)
    say(api, "/ask@another_bot 太平镇有多少人民调解员？", **group, replies_expected=0)
    say(api, "@fazhi_test_bot_fan 太平镇有多少人民调解员？", **group, replies_expected=0)
    [asked] = say(api, "/ask 太平镇有多少人民调解员？", **group)
    assert "63名" in seen(asked)
    [mentioned] = say(api, "@fazhi_test_bot 官塘镇2020年排查化解了几宗矛盾纠纷？", **group)
    assert "14宗" in seen(mentioned)
    [named] = say(api, "/ask@fazhi_test_bot 板溪镇调解了多少起矛盾纠纷？", **group)
    assert "56起" in seen(named)
    [follow_up] = say(api, "中塘镇2021年化解了多少矛盾纠纷？", reply_to=named.result, **group)
    assert "316件" in seen(follow_up)
    settle()
    group_messages = api.sent(GROUP)
    assert len(group_messages) == 4, [seen(c)[:40] for c in group_messages]
    assert all(reply_to(c) for c in group_messages), "in groups every answer replies to its question"


def test_group_ask_is_answered_as_a_reply(api: FakeBotApi, bot: RunningBot) -> None:
    before = len(api.sent(GROUP))
    asking = api.message("/ask 太平镇有多少人民调解员？", user=USER, chat=GROUP, chat_type="group")
    [answer] = api.wait_sent(GROUP, before + 1)[before:]
    assert reply_to(answer) == asking["message_id"]
    assert "63名" in seen(answer)


# ---- inline mode -------------------------------------------------------------------------------------------


def test_inline_query_offers_the_cited_figures(api: FakeBotApi, bot: RunningBot, engine: Engine) -> None:
    core = engine.ask("太平镇 人民调解员")
    api.inline("太平镇 人民调解员", user=USER)
    [call] = api.wait_for(lambda calls: [c for c in calls if c.method == "answerInlineQuery"])
    results = call.params["results"]
    assert len(results) == len(core.citations[: handlers.INLINE_RESULTS]) > 0
    first = results[0]["input_message_content"]
    text, error = visible_text(first["message_text"], first["parse_mode"])
    assert not error and "63名" in text and "太平镇" in text


# ---- robustness ------------------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(api: FakeBotApi, bot: RunningBot) -> None:
    api.fail_next("sendMessage", retry_after=1)
    [answer] = say(api, HEADLINE)
    assert "63名" in seen(answer)
    attempts = [c for c in api.requests("sendMessage", chat=USER)]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0


def test_token_never_reaches_the_logs(api: FakeBotApi, caplog: pytest.LogCaptureFixture,
                                      start_bot: Callable[..., RunningBot]) -> None:
    caplog.set_level(logging.DEBUG)
    start_bot()
    say(api, HEADLINE)
    api.fail_next("sendMessage", retry_after=1)
    say(api, "/sources")
    assert "getUpdates" in caplog.text or "Bot API" in caplog.text, "debug logging was captured"
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_errors_are_logged_and_the_user_told(api: FakeBotApi, caplog: pytest.LogCaptureFixture,
                                            start_bot: Callable[..., RunningBot]) -> None:
    class Broken:
        def ask(self, question: str, history: Any = ()) -> Any:
            raise RuntimeError("index exploded")

    start_bot(bot_engine=Broken())  # type: ignore[arg-type]
    [sorry] = say(api, HEADLINE)
    assert seen(sorry) == replies.ERROR
    assert any(r.exc_info and "index exploded" in str(r.exc_info[1]) for r in caplog.records)
    [again] = say(api, HEADLINE)
    assert seen(again) == replies.ERROR, "the bot keeps running"


def test_long_replies_are_split_at_boundaries() -> None:
    paragraph = "".join(f"第{n}句，<b>{n}名</b>调解员参与&amp;培训。" for n in range(200))
    html = "\n\n".join([paragraph] * 4)
    chunks = replies.split_html(html)
    assert len(chunks) > 1
    for chunk in chunks:
        text, error = visible_text(chunk, "HTML")
        assert len(chunk) <= MAX_TEXT and not error
        assert chunk.endswith(("。", "</b>", "培训。"))
    assert "".join(chunks).replace("\n", "") == html.replace("\n", "")


def test_long_answer_arrives_in_parts(api: FakeBotApi, bot: RunningBot, engine: Engine,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 120
    monkeypatch.setattr(replies, "split_html", lambda html: split_html(html, limit))
    whole = render(engine.ask(HEADLINE), html=True)
    parts = say(api, HEADLINE, replies_expected=len(split_html(whole, limit)))
    assert len(parts) > 1 and all(len(part.text) <= limit for part in parts)
    assert "".join(seen(part) for part in parts).replace("\n", "") == visible_text(whole, "HTML")[0].replace("\n", "")
    assert [("reply_markup" in part.params) for part in parts] == [False] * (len(parts) - 1) + [True]


# ---- admin upload ------------------------------------------------------------------------------------------


def _upload(api: FakeBotApi, name: str, content: bytes, *, user: int, caption: str = "",
            replies_expected: int = 2) -> list[Call]:
    fields: dict[str, Any] = {"document": api.add_file(name, content)}
    if caption:
        fields["caption"] = caption
    return say(api, None, user=user, replies_expected=replies_expected, **fields)


def test_admin_upload_is_answerable_at_once(api: FakeBotApi, start_bot: Callable[..., RunningBot],
                                            own_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    start_bot(bot_engine=own_engine, FAZHI_ADMIN_USERS=str(ADMIN))
    add_report = own_engine.add_report

    def slow_add_report(path: Path, *, caption: str = "") -> Any:
        time.sleep(2)  # a big report: indexing takes a while
        return add_report(path, caption=caption)

    monkeypatch.setattr(own_engine, "add_report", slow_add_report)
    api.message(document=api.add_file("qingshan.txt", NEW_REPORT.encode()), user=ADMIN)
    [received] = api.wait_sent(ADMIN, 1)
    assert seen(received) == replies.UPLOAD_RECEIVED
    [meanwhile] = say(api, HEADLINE, user=USER)
    [_, done] = api.wait_sent(ADMIN, 2)
    assert "63名" in seen(meanwhile) and meanwhile.at < done.at, "others are answered while a report is indexed"
    assert api.requests("sendChatAction", chat=ADMIN), "shows 'typing…' while indexing"
    assert "青山镇" in seen(done) and "2024" in seen(done) and "青山镇2024年法治政府建设工作报告" in seen(done)
    [answer] = say(api, "青山镇有多少网格员？", user=USER)
    assert "57名" in seen(answer) and "青山镇" in seen(answer)
    _, again = _upload(api, "qingshan-v2.txt", NEW_REPORT.replace("57名", "58名").encode(), user=ADMIN)
    assert "已替换旧报告" in seen(again)
    [answer] = say(api, "青山镇有多少网格员？", user=USER)
    assert "58名" in seen(answer)


def test_non_admin_upload_is_refused_and_the_index_untouched(api: FakeBotApi, bot: RunningBot, engine: Engine,
                                                             index_dir: Path) -> None:
    before = sorted((p.name, p.stat().st_mtime_ns) for p in index_dir.rglob("*"))
    reports = engine.reports()
    [refusal] = _upload(api, "qingshan.txt", NEW_REPORT.encode(), user=USER, replies_expected=1)
    assert seen(refusal) == replies.UPLOAD_NOT_ADMIN
    assert not api.requests("getFile")
    assert engine.reports() == reports
    assert sorted((p.name, p.stat().st_mtime_ns) for p in index_dir.rglob("*")) == before


@pytest.mark.parametrize(
    ("name", "content", "caption", "expected"),
    [
        pytest.param("报告.doc", b"\xd0\xcf\x11\xe0 old word", "", "另存为 .docx", id="doc"),
        pytest.param("scan.txt", b"   \n\n  ", "", "文字", id="no-text"),
        pytest.param("notes.txt", "今年我们开展了普法宣传活动，效果良好。\n".encode(), "", "例如“太平镇 2024”",
                     id="no-town-year"),
        pytest.param("photo.jpg", b"\xff\xd8\xff\xe0jpeg", "", "图片", id="image"),
    ],
)
def test_bad_uploads_get_one_chinese_sentence(api: FakeBotApi, bot: RunningBot, name: str, content: bytes,
                                              caption: str, expected: str) -> None:
    _, refusal = _upload(api, name, content, user=ADMIN, caption=caption)
    assert expected in seen(refusal)


def test_oversized_upload_is_refused_before_download(api: FakeBotApi, bot: RunningBot) -> None:
    document = api.add_file("big.pdf", b"%PDF-1.4")
    document["file_size"] = 25 * 1024 * 1024
    [refusal] = say(api, None, user=ADMIN, document=document)
    assert seen(refusal) == replies.UPLOAD_TOO_BIG
    assert not api.requests("getFile")


# ---- fazhi serve -------------------------------------------------------------------------------------------


def test_missing_token_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(Settings.from_env({"FAZHI_CACHE_DIR": str(tmp_path)})) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
    process = subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=REPO, capture_output=True, text=True,
                             env={**_base_env(), "FAZHI_CACHE_DIR": str(tmp_path)}, timeout=120)
    assert process.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in process.stderr and "未设置" in process.stderr


def test_rejected_token_exits_2_without_logging_it(api: FakeBotApi, caplog: pytest.LogCaptureFixture,
                                                   capsys: pytest.CaptureFixture[str], cache_dir: Path,
                                                   index_dir: Path) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "987654321:AAH-a-revoked-token"
    env = {**_env(cache_dir, index_dir), **_telegram_env(api), "TELEGRAM_BOT_TOKEN": wrong}
    assert run(Settings.from_env(env)) == 2
    err = capsys.readouterr().err
    assert "BotFather" in err and "InvalidToken" in caplog.text
    assert wrong not in caplog.text + err


def test_fazhi_serve_process_answers(api: FakeBotApi, engine: Engine, cache_dir: Path, index_dir: Path,
                                     tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy, symlinks=True)
    env = {**_base_env(), **_env(cache_dir, copy), **_telegram_env(api)}
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=REPO, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        api.wait_for(lambda calls: any(c.method == "setMyCommands" for c in calls) or process.poll() is not None,
                     timeout=180)
        [answer] = say(api, HEADLINE, replies_expected=1)
        assert "63名" in seen(answer)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    assert TOKEN not in out + err and "Serving as @fazhi_test_bot" in err


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "HF_HOME", "HF_HUB_OFFLINE")
    return {key: os.environ[key] for key in keep if key in os.environ} | {"PYTHONPATH": str(REPO)}


# ---- load ---------------------------------------------------------------------------------------------------


@pytest.mark.load
def test_fifty_users_five_questions_each(api: FakeBotApi, bot: RunningBot) -> None:
    questions = [q.values[0] for q in GOLD] + ["双塔镇2022年化解了多少矛盾纠纷？"]
    users = range(5000, 5050)
    started = time.monotonic()
    pushed: dict[int, float] = {}
    for user in users:
        pushed[user] = time.monotonic()
        for question in questions:
            api.message(question, user=user)
    api.wait_for(lambda _: all(len(api.sent(user)) >= len(questions) for user in users), timeout=600)
    total = time.monotonic() - started
    latencies = sorted(call.at - pushed[user] for user in users for call in api.sent(user))
    assert len(latencies) == len(users) * len(questions), "no answer lost, none doubled"
    cuts = statistics.quantiles(latencies, n=100)
    print(f"\n{len(latencies)} answers in {total:.1f}s ({len(latencies) / total:.1f}/s); latency "
          f"p50 {cuts[49]:.2f}s p95 {cuts[94]:.2f}s max {latencies[-1]:.2f}s")

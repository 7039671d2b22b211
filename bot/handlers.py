"""Telegram handlers: read the update, ask the core in a worker thread, send the rendered reply.

The engine, the settings and the review store live in ``bot_data``; each chat keeps its recent questions
(for follow-ups) and its recent answers (behind their "📊 图表", "这个数字不对" and "其他相关段落" buttons)
in ``chat_data``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from telegram import (
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import replies
from bot.settings import Settings
from retrieval.answers.reply.answer import Answer
from retrieval.answers.reply.render import is_table, render, table_csv, truncated
from retrieval.engine import Engine
from retrieval.errors import FazhiError
from retrieval.reports.indexing import AddResult
from retrieval.tools.review import ReviewStore

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Awaitable[None]]
ChatData = MutableMapping[str, Any]

ENGINE = "engine"
SETTINGS = "settings"
REVIEWS = "reviews"
HISTORY_SIZE = 4  # earlier questions passed to the core as context
HISTORY_TTL_S = 15 * 60  # a conversation is forgotten after this much silence
ANSWERS_KEPT = 32  # answers whose buttons still work, per chat
MORE_PREFIX, CHART_PREFIX, WRONG_PREFIX = "more:", "chart:", "wrong:"
INLINE_RESULTS = 10
_UNSAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


def engine_of(context: Context) -> Engine:
    return context.bot_data[ENGINE]


def settings_of(context: Context) -> Settings:
    return context.bot_data[SETTINGS]


def reviews_of(context: Context) -> ReviewStore:
    return context.bot_data[REVIEWS]


def is_admin(update: Update, context: Context) -> bool:
    user = update.effective_user
    return user is not None and user.id in settings_of(context).admin_users


# ---- access ------------------------------------------------------------------------------------------


async def gate(update: Update, context: Context) -> None:
    """Runs before every other handler: when FAZHI_ALLOWED_USERS is set, strangers get a refusal only."""
    settings = settings_of(context)
    user = update.effective_user
    if not settings.allowed_users or (user and user.id in settings.allowed_users | settings.admin_users):
        return
    logger.info("Refused user %s in chat %s", user and user.id, update.effective_chat and update.effective_chat.id)
    await _refuse(update, context)
    raise ApplicationHandlerStop


async def _refuse(update: Update, context: Context) -> None:
    if update.inline_query:
        button = InlineQueryResultsButton(text=replies.NOT_ALLOWED[:60], start_parameter="access")
        await update.inline_query.answer([], button=button, cache_time=0, is_personal=True)
    elif update.callback_query:
        await update.callback_query.answer(replies.NOT_ALLOWED, show_alert=True)
    elif update.message and (_is_private(update.message) or addressed(update.message, context) is not None):
        await update.message.reply_text(replies.NOT_ALLOWED)


def _is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def addressed(message: Message, context: Context) -> str | None:
    """In a group: the question when ``message`` speaks to the bot (command, @mention, reply), else None."""
    text = message.text or message.caption or ""
    mention = _mention(context)
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    if first.startswith("/") and ("@" not in first or mention.fullmatch(first, first.index("@"))):
        return text
    if mention.search(text):
        return mention.sub(" ", text).strip()
    reply = message.reply_to_message
    if reply and reply.from_user and reply.from_user.id == context.bot.id:
        return text
    return None


def _mention(context: Context) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(context.bot.username)}\b", re.IGNORECASE)


# ---- commands ------------------------------------------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    user = update.effective_user
    await update.effective_message.reply_html(replies.start_text(user.first_name if user else ""))


async def help_command(update: Update, context: Context) -> None:
    reports = await asyncio.to_thread(engine_of(context).reports)
    admin = is_admin(update, context)
    await update.effective_message.reply_html(replies.help_text(reports, context.bot.username, admin))


async def sources(update: Update, context: Context) -> None:
    reports = await asyncio.to_thread(engine_of(context).reports)
    await update.effective_message.reply_html(replies.sources_text(reports))


async def ask(update: Update, context: Context) -> None:
    """/ask 问题 — or /ask as a reply to someone's question."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1)
    question = parts[1] if len(parts) > 1 else ""
    if not question.strip() and message.reply_to_message and message.reply_to_message.text:
        question = message.reply_to_message.text
    if not question.strip():
        await message.reply_text(replies.ASK_USAGE)
        return
    await answer_question(update, context, question)


async def unknown_command(update: Update, context: Context) -> None:
    message = update.effective_message
    if _is_private(message) or _mention(context).search(message.text or ""):
        await message.reply_text(replies.UNKNOWN_COMMAND)


# ---- questions -------------------------------------------------------------------------------------------


async def private_text(update: Update, context: Context) -> None:
    await answer_question(update, context, update.effective_message.text or "")


async def group_text(update: Update, context: Context) -> None:
    """In a group, answer only a message that mentions the bot or replies to it; stay silent otherwise."""
    question = addressed(update.effective_message, context)
    if question is not None:
        await answer_question(update, context, question)


async def answer_question(update: Update, context: Context, question: str) -> None:
    message = update.effective_message
    problem = replies.question_problem(question)
    if problem:
        await message.reply_text(problem, do_quote=not _is_private(message))
        return
    history = recent_questions(context.chat_data)
    answer: Answer = await asyncio.to_thread(engine_of(context).ask, question, history)
    remember_question(context.chat_data, question)
    logger.info("Chat %s: %s answer (%s) to %r", message.chat.id, answer.kind, answer.found, question[:60])
    await send_answer(context, message, answer)


async def send_answer(context: Context, message: Message, answer: Answer) -> None:
    """The rendered answer (a comparison as a table) with its buttons; a comparison that shows only its top
    units is followed by its full table as a CSV file."""
    await send_html(context, message, render(answer, html=True, table=True), answer_markup(context.chat_data, answer))
    if is_table(answer) and truncated(answer):
        await send_table(context, message, answer)


async def send_table(context: Context, message: Message, answer: Answer) -> None:
    """The full comparison table (every unit, with and without the figure) as a CSV document."""
    table = await asyncio.to_thread(table_csv, answer)
    reply_to = None if _is_private(message) else ReplyParameters(message.message_id, allow_sending_without_reply=True)
    await context.bot.send_document(message.chat.id, io.BytesIO(table.encode("utf-8-sig")),
                                    filename=replies.table_name(answer.lead), reply_parameters=reply_to,
                                    caption=replies.table_caption(answer.units_with, answer.units_without))


def recent_questions(chat_data: ChatData | None, now: float | None = None) -> tuple[str, ...]:
    """This chat's earlier questions, oldest first; forgotten after HISTORY_TTL_S of silence."""
    if chat_data is None:
        return ()
    entries: list[tuple[float, str]] = chat_data.setdefault("history", [])
    now = time.monotonic() if now is None else now
    if entries and now - entries[-1][0] > HISTORY_TTL_S:
        entries.clear()
    return tuple(question for _, question in entries)


def remember_question(chat_data: ChatData | None, question: str, now: float | None = None) -> None:
    if chat_data is None:
        return
    entries: list[tuple[float, str]] = chat_data.setdefault("history", [])
    entries.append((time.monotonic() if now is None else now, question))
    del entries[:-HISTORY_SIZE]


def answer_markup(chat_data: ChatData | None, answer: Answer) -> InlineKeyboardMarkup | None:
    """"📊 图表" under a comparison of figures, "这个数字不对" under any figure, "其他相关段落" when there are."""
    if chat_data is None:
        return None
    key = secrets.token_hex(4)
    first = []
    if is_table(answer):
        first.append(InlineKeyboardButton(replies.CHART_BUTTON, callback_data=CHART_PREFIX + key))
    if answer.figures():
        first.append(InlineKeyboardButton(replies.WRONG_BUTTON, callback_data=WRONG_PREFIX + key))
    rows = [first] if first else []
    if answer.sources[1:]:
        rows.append([InlineKeyboardButton(replies.MORE_BUTTON, callback_data=MORE_PREFIX + key)])
    if not rows:
        return None
    kept: dict[str, Answer] = chat_data.setdefault("answers", {})
    kept[key] = answer
    for old in list(kept)[:-ANSWERS_KEPT]:
        del kept[old]
    return InlineKeyboardMarkup(rows)


def kept_answer(context: Context, data: str | None, prefix: str) -> Answer | None:
    """The answer behind a button of this chat, or None when it has expired."""
    key = (data or "").removeprefix(prefix).split(":")[0]
    return (context.chat_data or {}).get("answers", {}).get(key)


async def pressed_answer(update: Update, context: Context, prefix: str, expired: str) -> Answer | None:
    """The answer under a pressed button; when it has expired the user is told ``expired`` and None is
    returned."""
    query = update.callback_query
    answer = kept_answer(context, query.data, prefix)
    if answer is None or not isinstance(query.message, Message):
        await query.answer(expired, show_alert=True)
        return None
    return answer


async def send_html(
    context: Context, message: Message, html: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send ``html`` in as many messages as it takes; in groups each one replies to ``message``."""
    chunks = replies.split_html(html)
    reply_to = None if _is_private(message) else ReplyParameters(message.message_id, allow_sending_without_reply=True)
    for number, chunk in enumerate(chunks, 1):
        await context.bot.send_message(
            message.chat.id,
            chunk,
            parse_mode=ParseMode.HTML,
            reply_parameters=reply_to,
            reply_markup=markup if number == len(chunks) else None,
        )


async def more_passages(update: Update, context: Context) -> None:
    """The "其他相关段落" button: the answer's other candidate passages."""
    answer = await pressed_answer(update, context, MORE_PREFIX, replies.MORE_EXPIRED)
    if answer is None:
        return
    query = update.callback_query
    await query.answer()
    assert isinstance(query.message, Message)
    await send_html(context, query.message, replies.more_sources_html(answer.sources[1:]))


# ---- inline mode -----------------------------------------------------------------------------------------


async def inline_query(update: Update, context: Context) -> None:
    """``@bot 太平镇 人民调解员`` → the cited figures, ready to drop into any chat."""
    query = update.inline_query
    text = query.query.strip()
    answer = None if replies.question_problem(text) else await asyncio.to_thread(engine_of(context).ask, text)
    results = inline_results(answer) if answer else []
    hint = replies.INLINE_HELP if answer is None else replies.INLINE_NOT_FOUND
    button = None if results else InlineQueryResultsButton(text=hint, start_parameter="help")
    await query.answer(results, button=button, cache_time=60)


def inline_results(answer: Answer) -> list[InlineQueryResultArticle]:
    if not answer.found:
        return []
    return [
        InlineQueryResultArticle(
            id=f"{number}-{citation.source.report.doc_id}"[:64],
            title=replies.citation_title(citation),
            description=citation.sentence[:200],
            input_message_content=InputTextMessageContent(replies.citation_html(citation), ParseMode.HTML),
        )
        for number, citation in enumerate(answer.citations[:INLINE_RESULTS])
    ]


# ---- admin upload --------------------------------------------------------------------------------------


async def upload(update: Update, context: Context) -> None:
    """An admin sends a report file in a private chat; it is answerable as soon as the reply arrives."""
    message = update.effective_message
    refusal = _upload_refusal(message, settings_of(context))
    if refusal:
        await message.reply_text(refusal)
        return
    await message.reply_text(replies.UPLOAD_RECEIVED)
    await message.chat.send_action(ChatAction.TYPING)
    try:
        result = await add_report(context, message.document, message.caption or "")
    except FazhiError as error:
        logger.info("Upload %r refused: %r", message.document.file_name, error)
        await message.reply_html(replies.report_error(error))
        return
    logger.info("Upload %r added %s (%s)", message.document.file_name, result.report.label, result.report.title)
    await asyncio.to_thread(reviews_of(context).first_seen, [result.report])
    await message.reply_html(replies.upload_done(result))


def _upload_refusal(message: Message, settings: Settings) -> str | None:
    """Why an upload is refused before anything is downloaded (not an admin, too big), or None."""
    if message.from_user is None or message.from_user.id not in settings.admin_users:
        return replies.UPLOAD_NOT_ADMIN
    if message.document and (message.document.file_size or 0) > replies.MAX_UPLOAD_BYTES:
        return replies.UPLOAD_TOO_BIG
    return None


async def add_report(context: Context, document: Document, caption: str) -> AddResult:
    """Download the file into a scratch folder and index it in a worker thread (answers keep flowing)."""
    telegram_file = await document.get_file()
    with tempfile.TemporaryDirectory(prefix="fazhi-upload-") as folder:
        path = Path(folder) / _file_name(document)
        await telegram_file.download_to_drive(path)
        return await asyncio.to_thread(engine_of(context).add_report, path, caption=caption)


def _file_name(document: Document) -> str:
    name = _UNSAFE_NAME.sub("_", Path(document.file_name or "").name).strip("._")
    return name[-80:] or "report"


# ---- everything else ---------------------------------------------------------------------------------------


def reply_with(text: str) -> Callback:
    """A handler that answers with one fixed sentence (stickers, photos, voice messages…)."""

    async def callback(update: Update, context: Context) -> None:
        await update.effective_message.reply_text(text)

    return callback


async def greet_group(update: Update, context: Context) -> None:
    """Say how to ask when the bot is added to a group."""
    members = update.effective_message.new_chat_members or ()
    if any(member.id == context.bot.id for member in members):
        await update.effective_message.reply_text(replies.group_greeting(context.bot.username))


async def error_handler(update: object, context: Context) -> None:
    """Log the error with its traceback and tell the user, in Chinese, that something went wrong."""
    logger.error("Update %s caused an error", getattr(update, "update_id", None), exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query:
            await update.callback_query.answer(replies.ERROR, show_alert=True)
        elif update.effective_message and update.effective_chat:
            await context.bot.send_message(update.effective_chat.id, replies.ERROR)
    except TelegramError:
        logger.warning("Could not tell chat %s about the error", update.effective_chat, exc_info=True)

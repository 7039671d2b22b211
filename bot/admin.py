"""Admin commands: /review (reported figures), /reports, /remove with a confirmation button, /ledger (the
figure ledger of a report as a CSV file).

Everyone else gets one polite refusal. An item marked 确认有误 waits for the admin's next message that
replies to the bot's prompt (or is a short figure such as "63名"): that text is recorded as the right figure.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from functools import wraps

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from bot import handlers, replies
from bot.handlers import Context, engine_of, is_admin, reviews_of
from retrieval.errors import FazhiError
from retrieval.reports.figures import extract_figures

logger = logging.getLogger(__name__)

REVIEW_PREFIX, REMOVE_PREFIX = "rv:", "rm:"
REVIEW_SHOWN = 10  # open items listed by one /review
CORRECTING = "correcting"  # user_data: (item id, id of the prompt message)
Handler = Callable[[Update, Context], Awaitable[None]]


def admin_only(handler: Handler) -> Handler:
    @wraps(handler)
    async def guarded(update: Update, context: Context) -> None:
        if is_admin(update, context):
            await handler(update, context)
        elif update.callback_query:
            await update.callback_query.answer(replies.ADMIN_ONLY, show_alert=True)
        else:
            await update.effective_message.reply_text(replies.ADMIN_ONLY)

    return guarded


# ---- /review ---------------------------------------------------------------------------------------------


@admin_only
async def review(update: Update, context: Context) -> None:
    """/review: the open items, each with its source passage and 确认有误 / 没有问题."""
    items = await asyncio.to_thread(reviews_of(context).items, "open")
    message = update.effective_message
    if not items:
        await message.reply_text(replies.REVIEW_NONE)
        return
    await message.reply_html(replies.review_header(len(items), min(len(items), REVIEW_SHOWN)))
    for item in items[:REVIEW_SHOWN]:
        buttons = [InlineKeyboardButton(replies.REVIEW_WRONG_BUTTON, callback_data=f"{REVIEW_PREFIX}wrong:{item.id}"),
                   InlineKeyboardButton(replies.REVIEW_OK_BUTTON, callback_data=f"{REVIEW_PREFIX}ok:{item.id}")]
        await message.reply_html(replies.review_item_html(item), reply_markup=InlineKeyboardMarkup([buttons]))


@admin_only
async def review_button(update: Update, context: Context) -> None:
    """确认有误 / 没有问题 under an item of /review."""
    query = update.callback_query
    status, _, number = (query.data or "").removeprefix(REVIEW_PREFIX).partition(":")
    item = await asyncio.to_thread(reviews_of(context).resolve, int(number), "wrong" if status == "wrong" else "ok",
                                   by=update.effective_user.id)
    if item is None or not isinstance(query.message, Message):
        await query.answer(replies.REVIEW_GONE, show_alert=True)
        return
    logger.info("Review item %d marked %s by %s", item.id, item.status, update.effective_user.id)
    await query.answer()
    await query.edit_message_text(replies.review_resolved(item), parse_mode=ParseMode.HTML)
    if item.status == "wrong":
        context.user_data[CORRECTING] = (item.id, None)  # before the prompt: the answer may come at once
        prompt = await query.message.reply_text(replies.REVIEW_ASK_CORRECT.format(id=item.id),
                                                reply_markup=ForceReply(selective=True))
        if context.user_data.get(CORRECTING) == (item.id, None):
            context.user_data[CORRECTING] = (item.id, prompt.message_id)


async def private_text(update: Update, context: Context) -> None:
    """A private text: the right figure an admin was asked for, else a question."""
    if not await _take_correction(update, context):
        await handlers.private_text(update, context)


async def _take_correction(update: Update, context: Context) -> bool:
    waiting = (context.user_data or {}).get(CORRECTING)
    message = update.effective_message
    if not waiting or not is_admin(update, context):
        return False
    item_id, prompt_id = waiting
    text = (message.text or "").strip()
    reply = message.reply_to_message
    replying = reply is not None and reply.from_user is not None and reply.from_user.id == context.bot.id and (
        prompt_id is None or reply.message_id == prompt_id)
    if not replying and not (len(text) <= 30 and extract_figures(text)):
        return False
    item = await asyncio.to_thread(reviews_of(context).correct, item_id, text, by=update.effective_user.id)
    del context.user_data[CORRECTING]
    logger.info("Review item %d: right figure %r", item_id, text)
    await message.reply_text(replies.REVIEW_CORRECTED.format(id=item_id, figure=text) if item
                             else replies.REVIEW_GONE)
    return True


# ---- /reports, /remove -----------------------------------------------------------------------------------


@admin_only
async def reports(update: Update, context: Context) -> None:
    """/reports: units, years, passages, figures, when each report was first seen."""
    listed = await asyncio.to_thread(engine_of(context).reports)
    seen = await asyncio.to_thread(reviews_of(context).first_seen, listed)
    await handlers.send_html(context, update.effective_message, replies.reports_html(listed, seen))


@admin_only
async def remove(update: Update, context: Context) -> None:
    """/remove 太平镇 2023: asks for confirmation before the report is removed."""
    message = update.effective_message
    args = context.args or []
    if len(args) != 2 or not args[1].rstrip("年").isdigit():
        await message.reply_text(replies.REMOVE_USAGE)
        return
    town, year = args[0], args[1].rstrip("年")
    report = next((r for r in engine_of(context).reports() if r.town == town and str(r.year) == year), None)
    if report is None:
        await message.reply_html(replies.no_such_report(town, year))
        return
    buttons = [InlineKeyboardButton(replies.REMOVE_YES, callback_data=f"{REMOVE_PREFIX}yes:{report.year}:{town}"),
               InlineKeyboardButton(replies.REMOVE_NO, callback_data=f"{REMOVE_PREFIX}no")]
    await message.reply_html(replies.remove_confirm(report), reply_markup=InlineKeyboardMarkup([buttons]))


@admin_only
async def remove_button(update: Update, context: Context) -> None:
    """确认删除 / 取消 under a /remove."""
    query = update.callback_query
    answer, _, rest = (query.data or "").removeprefix(REMOVE_PREFIX).partition(":")
    await query.answer()
    if answer != "yes":
        await query.edit_message_text(replies.REMOVE_CANCELLED)
        return
    year, _, town = rest.partition(":")
    engine = engine_of(context)
    try:
        gone = await asyncio.to_thread(engine.remove_report, town, int(year))
    except FazhiError as error:  # removed meanwhile, or the index is busy
        await query.edit_message_text(replies.report_error(error), parse_mode=ParseMode.HTML)
        return
    logger.info("Report %s removed by %s", gone.label, update.effective_user.id)
    await query.edit_message_text(replies.remove_done(gone, len(engine.reports())), parse_mode=ParseMode.HTML)


@admin_only
async def ledger(update: Update, context: Context) -> None:
    """/ledger 太平镇 [2023]: every figure of that unit's reports as a CSV file."""
    from retrieval.answers.decide.ledger import to_csv

    message = update.effective_message
    args = context.args or []
    year = args[1].rstrip("年") if len(args) > 1 else ""
    if not args or len(args) > 2 or (year and not year.isdigit()):
        await message.reply_text(replies.LEDGER_USAGE)
        return
    town = args[0]
    searcher = engine_of(context).searcher
    if not any(r.town == town and (not year or str(r.year) == year) for r in searcher.reports):
        await message.reply_html(replies.no_such_report(town, year))
        return
    table = await asyncio.to_thread(to_csv, searcher.ledger, searcher.corpus.passages, searcher.corpus.reports,
                                    town=town, year=int(year) if year else None)
    rows = table.count("\n") - 1
    logger.info("Ledger of %s %s sent to %s: %d figures", town, year, update.effective_user.id, rows)
    await message.reply_document(io.BytesIO(table.encode("utf-8")), filename=replies.ledger_name(town, year),
                                 caption=replies.ledger_caption(town, year, rows))

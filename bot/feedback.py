"""What users do with an answer: the "📊 图表" button and /chart, and the "这个数字不对" button.

A chart is drawn in a worker thread (``retrieval.answers.reply.chart``, which loads matplotlib on first use) and
sent as a photo; a reported figure is stored in the review store, the user thanked and every admin told.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError

from bot import replies
from bot.handlers import (
    CHART_PREFIX,
    WRONG_PREFIX,
    Context,
    engine_of,
    pressed_answer,
    reviews_of,
    send_answer,
    settings_of,
)
from retrieval.answers.reply.answer import Answer
from retrieval.tools.review import ReviewItem

logger = logging.getLogger(__name__)


async def chart_button(update: Update, context: Context) -> None:
    """"📊 图表" under a comparison: the same comparison as a bar chart."""
    answer = await pressed_answer(update, context, CHART_PREFIX, replies.ANSWER_EXPIRED)
    if answer is None:
        return
    query = update.callback_query
    assert isinstance(query.message, Message)
    await query.answer()
    await send_chart(context, query.message.chat_id, answer)


async def chart_command(update: Update, context: Context) -> None:
    """/chart 人民调解员 — the comparison across reports, as a table and a chart."""
    message = update.effective_message
    topic = " ".join(context.args or ())
    if not topic.strip() or replies.question_problem(topic):
        await message.reply_text(replies.CHART_USAGE)
        return
    question = replies.CHART_QUESTION.format(topic=topic.strip())
    answer: Answer = await asyncio.to_thread(engine_of(context).ask, question)
    logger.info("Chat %s: chart of %r (%s)", message.chat_id, topic[:40], answer.kind)
    await send_answer(context, message, answer)
    await send_chart(context, message.chat_id, answer)


async def send_chart(context: Context, chat_id: int, answer: Answer) -> None:
    from retrieval.answers.reply.chart import ChartError, bar_chart
    from retrieval.answers.reply.render import comparison_rows, table_notes

    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    try:
        png = await asyncio.to_thread(bar_chart, answer)
    except ChartError as error:
        logger.info("No chart for %r: %s", answer.question[:60], error)
        await context.bot.send_message(chat_id, replies.report_error(error), parse_mode=ParseMode.HTML)
        return
    caption = replies.chart_caption(answer.lead, table_notes(comparison_rows(answer)))
    await context.bot.send_photo(chat_id, png, caption=caption, filename="chart.png")


async def wrong_button(update: Update, context: Context) -> None:
    """"这个数字不对": store the figure for review (asking which one first when the answer has several)."""
    answer = await pressed_answer(update, context, WRONG_PREFIX, replies.ANSWER_EXPIRED)
    if answer is None:
        return
    query = update.callback_query
    assert isinstance(query.message, Message)
    figures = answer.figures()
    _, _, number = (query.data or "").removeprefix(WRONG_PREFIX).partition(":")
    if len(figures) > 1 and not number.isdigit():
        await query.answer()
        await query.message.reply_text(replies.WRONG_WHICH, reply_markup=_which_figure(query.data or "", answer))
        return
    index = int(number) if number.isdigit() and int(number) < len(figures) else 0
    user = update.effective_user
    item = await asyncio.to_thread(reviews_of(context).add, answer, index, user_id=user and user.id,
                                   user_name=user.full_name if user else "", chat_id=query.message.chat_id)
    logger.info("Review item %d: %s %s reported by %s", item.id, item.town, item.figure, user and user.id)
    await query.answer()
    await query.message.reply_text(replies.review_thanks(item))
    await notify_admins(context, item)


def _which_figure(data: str, answer: Answer) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(replies.figure_choice(citation.source.report.label, figure.text),
                              callback_data=f"{data}:{number}")]
        for number, (figure, citation) in enumerate(answer.figures()[:20])
    ])


async def notify_admins(context: Context, item: ReviewItem) -> None:
    """Tell every admin about a new item (an admin who never started the bot cannot be told)."""
    for admin in sorted(settings_of(context).admin_users):
        try:
            await context.bot.send_message(admin, replies.review_notice(item), parse_mode=ParseMode.HTML)
        except TelegramError as error:
            logger.warning("Could not tell admin %s about review item %d: %s", admin, item.id, error)

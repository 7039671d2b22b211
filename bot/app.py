"""The Telegram application: wiring of the handlers, and ``run`` for ``fazhi serve`` (long polling)."""

import logging
import signal
import sys
from collections.abc import Sequence

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import admin, feedback, handlers, replies
from bot.settings import Settings
from retrieval.engine import Engine
from retrieval.tools.review import ReviewStore

logger = logging.getLogger(__name__)

MAX_RETRIES = 3  # a request answered "429 retry after N" is sent again this many times
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)


# Loggers that can carry the token: PTB logs its API URLs at DEBUG and puts the token in InvalidToken.
TOKEN_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot", "telegram.ext", "telegram.ext.Application",
                 "telegram.ext.Updater", "bot.app", "bot.handlers")


class _HideSecrets(logging.Filter):
    """Replaces the bot token in log messages and in the tracebacks logged with them."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        message, traceback = record.getMessage(), record.exc_text or ""
        for secret in self.secrets:
            message, traceback = message.replace(secret, "<TOKEN>"), traceback.replace(secret, "<TOKEN>")
        record.msg, record.args, record.exc_text = message, (), traceback or None
        return True


_HIDE_SECRETS = _HideSecrets()


def hide_token(token: str) -> None:
    """Keep ``token`` out of every log: httpx logs request URLs at INFO, PTB its API URLs at DEBUG."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if token:
        _HIDE_SECRETS.secrets.add(token)
    for name in TOKEN_LOGGERS:
        logging.getLogger(name).addFilter(_HIDE_SECRETS)


async def post_init(application: Application) -> None:
    """Set the command menu once the bot is connected."""
    await application.bot.set_my_commands([BotCommand(name, text) for name, text in replies.COMMANDS])
    logger.info("Serving as @%s", application.bot.username)


def build_application(settings: Settings, engine: Engine) -> Application:
    """The bot with all its handlers; ``engine`` answers every question."""
    hide_token(settings.telegram_token)
    application = (
        Application.builder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .rate_limiter(AIORateLimiter(max_retries=MAX_RETRIES))
        .defaults(Defaults(allow_sending_without_reply=True))
        .concurrent_updates(True)
        .post_init(post_init)
        .build()
    )
    application.bot_data[handlers.ENGINE] = engine
    application.bot_data[handlers.SETTINGS] = settings
    application.bot_data[handlers.REVIEWS] = ReviewStore(settings.review_path())
    add_handlers(application)
    return application


def add_handlers(application: Application) -> None:
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    new_message = filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    application.add_handlers(
        [
            CommandHandler("start", handlers.start),
            CommandHandler("help", handlers.help_command),
            CommandHandler("sources", handlers.sources),
            CommandHandler("ask", handlers.ask),
            CommandHandler("chart", feedback.chart_command),
            CommandHandler("review", admin.review),
            CommandHandler("reports", admin.reports),
            CommandHandler("remove", admin.remove),
            CommandHandler("ledger", admin.ledger),
            MessageHandler(filters.COMMAND & new_message, handlers.unknown_command),
            MessageHandler(private & filters.TEXT & new_message, admin.private_text),
            MessageHandler(groups & filters.TEXT & new_message, handlers.group_text),
            MessageHandler(private & filters.Document.ALL, handlers.upload),
            MessageHandler(filters.StatusUpdate.NEW_CHAT_MEMBERS, handlers.greet_group),
            MessageHandler(private & filters.Sticker.ALL, handlers.reply_with(replies.STICKER)),
            MessageHandler(private & filters.PHOTO, handlers.reply_with(replies.PHOTO)),
            MessageHandler(
                private & (filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE), handlers.reply_with(replies.VOICE)
            ),
            MessageHandler(private & new_message & ~filters.StatusUpdate.ALL, handlers.reply_with(replies.OTHER_MEDIA)),
            CallbackQueryHandler(handlers.more_passages, pattern=f"^{handlers.MORE_PREFIX}"),
            CallbackQueryHandler(feedback.chart_button, pattern=f"^{handlers.CHART_PREFIX}"),
            CallbackQueryHandler(feedback.wrong_button, pattern=f"^{handlers.WRONG_PREFIX}"),
            CallbackQueryHandler(admin.review_button, pattern=f"^{admin.REVIEW_PREFIX}"),
            CallbackQueryHandler(admin.remove_button, pattern=f"^{admin.REMOVE_PREFIX}"),
            InlineQueryHandler(handlers.inline_query),
        ]
    )
    application.add_error_handler(handlers.error_handler)


def poll(application: Application, *, stop_signals: Sequence[int] | None = STOP_SIGNALS) -> None:
    """Long-poll until stopped (Ctrl-C, SIGTERM, or ``application.stop_running()``)."""
    application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=stop_signals)


def run(settings: Settings) -> int:
    """``fazhi serve``: load the engine once, then answer Telegram until stopped. Returns the exit code."""
    if not settings.telegram_token:
        print(replies.NO_TOKEN, file=sys.stderr)
        return 2
    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO)  # a no-op when the CLI configured logging
    hide_token(settings.telegram_token)
    for handler in logging.getLogger().handlers:  # whatever logs through the root handlers
        handler.addFilter(_HIDE_SECRETS)
    logger.info("Loading the answer engine (index %s)", settings.index_dir)
    engine = Engine.open(settings.engine_config())
    logger.info("Engine ready: %d reports", len(engine.reports()))
    ReviewStore(settings.review_path()).first_seen(engine.reports())
    try:
        poll(build_application(settings, engine))
    except InvalidToken:
        print(replies.BAD_TOKEN, file=sys.stderr)
        return 2
    except NetworkError as error:
        print(replies.NO_NETWORK.format(error=error), file=sys.stderr)
        return 1
    return 0

"""Front ends over the answer core: the `fazhi` command and the Telegram bot."""

"""The shell: command line, Telegram bot, web service and the local sandbox."""

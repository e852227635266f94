"""The Telegram shell: handlers parse, call a use case, and render the reply."""

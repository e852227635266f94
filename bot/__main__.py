"""`python -m bot` is the same as `cio-council`."""

from bot.cli import main

main()

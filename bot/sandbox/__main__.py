"""Run the sandbox on its own: `python -m bot.sandbox --port 8081`.

Point a bot at the printed base URL and drive people through `POST /control/<method>`, e.g.
`curl -d '{"first_name": "Alice"}' http://127.0.0.1:8081/control/create_user`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.sandbox.server import SandboxServer
from bot.sandbox.state import BotSpec


def main(argv: list[str] | None = None) -> None:
    defaults = BotSpec()
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=defaults.token)
    parser.add_argument("--username", default=defaults.username)
    parser.add_argument("--no-privacy", action="store_true",
                        help="let the bot read every group message (privacy mode off)")
    parser.add_argument("--rate-limits", action="store_true",
                        help="answer 429 past Telegram's flood limits")
    args = parser.parse_args(argv)
    spec = BotSpec(token=args.token, username=args.username, privacy=not args.no_privacy)
    server = SandboxServer(bots=[spec], host=args.host, port=args.port,
                           rate_limits=args.rate_limits)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(server))


async def _serve(server: SandboxServer) -> None:
    async with server:
        print(f"Bot API:  {server.base_url}{server.token}/getMe")
        print(f"Files:    {server.base_file_url}{server.token}/<file_path>")
        print(f"Control:  {server.url}/control/<method>")
        await asyncio.Event().wait()  # until interrupted


if __name__ == "__main__":
    main()

"""`neuroseller telegram login`: log a Telegram account in once and print its session string.

The string is the account's login: whoever holds it can read and write as the shop. It goes into
`TELEGRAM_SESSION` in `.env` (never into git), and the gateway needs nothing else to connect.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from telethon import TelegramClient
from telethon.sessions import StringSession

from neuroseller.settings import Settings


async def login(settings: Settings, *, client: TelegramClient | None = None,
                ask: Callable[[str], str] = input, ask_secret: Callable[[str], str] = getpass.getpass,
                out=sys.stdout) -> str:
    """Phone → code → (2FA password); returns the StringSession. A bot token can be typed instead."""
    tg = client or TelegramClient(StringSession(), settings.telegram_api_id or 0,
                                  settings.telegram_api_hash.get_secret_value() if settings.telegram_api_hash
                                  else "")
    await tg.start(phone=lambda: ask("Phone number in international format (or a bot token): "),
                   code_callback=lambda: ask("The code Telegram sent you: "),
                   password=lambda: ask_secret("Two-step verification password: "))
    try:
        session = StringSession.save(tg.session)
    finally:
        await tg.disconnect()
    print("\nLogged in. Put this line into .env (keep it secret: it is the account's login):\n", file=out)
    print(f"TELEGRAM_SESSION={session}\n", file=out)
    print("Then start the gateway with `neuroseller telegram` (or `neuroseller up`).", file=out)
    return session


async def login_command(args: argparse.Namespace, settings: Settings) -> int:
    for var, value in (("TELEGRAM_API_ID", settings.telegram_api_id),
                       ("TELEGRAM_API_HASH", settings.telegram_api_hash)):
        if not value:
            print(f"{var} is not set: get it at https://my.telegram.org → API development tools",
                  file=sys.stderr)
            raise SystemExit(2)
    await login(settings)
    return 0

"""Operator commands from a shell: `neuroseller takeover|release|say LEAD ...`.

The same signals operators send from the operators' chat (`/take`, `/release`, replies) and from the
Temporal UI's "Send signal"; LEAD is a workflow id (`lead-tg-42`) or a Telegram chat id (`42`).
"""

from __future__ import annotations

import argparse
import getpass
import uuid

from temporalio.client import Client

from neuroseller.settings import Settings
from workflows.types import OperatorAction, OperatorMessage


def lead_id_arg(raw: str) -> str:
    """`lead-tg-42`, or just the Telegram chat id `42`."""
    raw = raw.strip()
    return raw if raw.startswith("lead-") else f"lead-tg-{raw}"


async def _client(settings: Settings, client: Client | None) -> Client:
    if client is not None:
        return client
    from workers.client import connect

    return await connect(settings.temporal_address or f"localhost:{settings.temporal_port}",
                         settings.temporal_namespace)


async def _signal(args: argparse.Namespace, settings: Settings, client: Client | None, name: str,
                  payload: object) -> str:
    lead = lead_id_arg(args.lead)
    await (await _client(settings, client)).get_workflow_handle(lead).signal(name, payload)
    return lead


async def takeover(args: argparse.Namespace, settings: Settings, client: Client | None = None) -> int:
    lead = await _signal(args, settings, client, "operator_takeover",
                         OperatorAction(operator=args.operator, note=args.note))
    print(f"{lead}: taken over by {args.operator}; the bot is silent until `neuroseller release {args.lead}`")
    return 0


async def release(args: argparse.Namespace, settings: Settings, client: Client | None = None) -> int:
    lead = await _signal(args, settings, client, "operator_release",
                         OperatorAction(operator=args.operator, note=args.note))
    print(f"{lead}: handed back to the bot")
    return 0


async def say(args: argparse.Namespace, settings: Settings, client: Client | None = None) -> int:
    lead = lead_id_arg(args.lead)
    text = " ".join(args.text).strip()
    if not text:
        print("nothing to say")
        return 2
    await _signal(args, settings, client, "operator_message",
                  OperatorMessage(operator=args.operator, text=text, message_id=f"cli:{uuid.uuid4().hex}"))
    print(f"{lead}: sent as {args.operator}")
    return 0


def register(subparsers) -> None:
    default_operator = getpass.getuser() or "operator"
    for name, handler, help_text in (
        ("takeover", takeover, "an operator takes the lead over: the bot goes silent for this customer"),
        ("release", release, "hand the lead back to the bot"),
        ("say", say, "send TEXT to the customer as the operator"),
    ):
        p = subparsers.add_parser(name, help=help_text)
        p.add_argument("lead", help="lead id (lead-tg-42) or Telegram chat id (42)")
        if name == "say":
            p.add_argument("text", nargs="+", help="what to send")
        else:
            p.add_argument("--note", default="", help="why (kept in the lead's history)")
        p.add_argument("--operator", default=default_operator, help="operator name shown in the transcript")
        p.set_defaults(func=handler)

"""`neuroseller chat`: talk to the bot in the terminal, as a customer would in Telegram.

Prints the bot's replies, escalations and the lead's state after each turn; follow-ups and
operator messages (bot-initiated) appear as they come. The chat id is stable, so after a restart
the same lead continues where it was.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import AsyncIterator, Callable

from temporalio.client import Client

from workers.client import lead_input, send_message
from workflows.lead import LeadWorkflow
from workflows.types import IncomingMessage, LeadInput, LeadState

HELP = "Type a message as a customer. Commands: /state, /new (start a new lead), /quit."


def default_chat_id() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "guest"


def state_line(state: LeadState) -> str:
    cart = ", ".join(f"{c.sku}×{c.qty}" for c in state.cart) or "—"
    amount = f" = {state.lead.amount} {state.lead.currency or ''}" if state.cart and state.lead.amount else ""
    contact = state.lead.contact or "—"
    return (f"[stage {state.stage.value} · status {state.lead.status.value} · mode {state.mode.value} · "
            f"cart {cart}{amount} · contact {contact}]")


async def stdin_lines(prompt: str = "you> ", fd: int | None = None) -> AsyncIterator[str]:
    """Lines typed at the prompt, read by the event loop itself (no thread).

    A thread blocked in `input()` cannot be interrupted: Ctrl-C would print "stopped" and the
    process would wait for Enter before the shell came back. Here stdin is watched by the loop
    (`add_reader`), so Ctrl-C, SIGTERM and end of input end the chat at once. The terminal stays in
    its normal line mode: the user edits the line, the loop gets it on Enter.
    """
    fd = sys.stdin.fileno() if fd is None else fd
    loop = asyncio.get_running_loop()
    buffer = b""
    show_prompt = os.isatty(fd)
    while True:
        while b"\n" not in buffer:
            if show_prompt:
                sys.stdout.write(prompt)
                sys.stdout.flush()
                show_prompt = False
            chunk = await _read_chunk(loop, fd)
            if not chunk:  # end of input (Ctrl-D, a closed pipe)
                if buffer.strip():
                    yield buffer.decode(errors="replace")
                return
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        show_prompt = os.isatty(fd)
        yield line.decode(errors="replace").rstrip("\r")


async def _read_chunk(loop: asyncio.AbstractEventLoop, fd: int) -> bytes:
    ready: asyncio.Future[None] = loop.create_future()
    try:
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    except PermissionError:  # a regular file cannot be watched, and never blocks
        return os.read(fd, 65536)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
    try:
        return os.read(fd, 65536)
    except BlockingIOError:  # woken without data: try again
        return await _read_chunk(loop, fd)


async def chat_loop(client: Client, inp: LeadInput, lines: AsyncIterator[str],
                    out: Callable[[str], None] = print, poll_seconds: float = 2.0) -> LeadInput:
    """Run the conversation until /quit or end of input; returns the lead input last used."""
    out(f"neuroseller chat · lead {inp.state.lead_id} · {HELP}")
    seen_outbox = 0
    handle = client.get_workflow_handle(inp.state.lead_id)
    counter = 0

    async def poll_outbox() -> None:
        nonlocal seen_outbox
        while True:
            await asyncio.sleep(poll_seconds)
            try:
                state: LeadState = await handle.query(LeadWorkflow.state)
            except Exception:  # noqa: BLE001 - no workflow yet: poll again
                continue
            for entry in state.outbox[seen_outbox:] if len(state.outbox) > seen_outbox else []:
                out(f"\nbot ({entry.role})> {entry.text}")
            seen_outbox = max(seen_outbox, len(state.outbox))

    poller = asyncio.create_task(poll_outbox())
    try:
        async for raw in lines:
            text = raw.strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            if text == "/new":
                counter += 1
                new_chat = f"{inp.state.chat_id}-{counter}"
                inp = inp.model_copy(update={"state": inp.state.model_copy(update={
                    "lead_id": f"lead-{inp.state.channel}-{new_chat}", "chat_id": new_chat})})
                handle = client.get_workflow_handle(inp.state.lead_id)
                seen_outbox = 0
                out(f"new lead {inp.state.lead_id}")
                continue
            if text == "/state":
                try:
                    out(state_line(await handle.query(LeadWorkflow.state)))
                except Exception as err:  # noqa: BLE001 - shown to the user
                    out(f"no lead yet ({err.__class__.__name__})")
                continue
            result = await send_message(client, inp, IncomingMessage(text=text))
            for reply in result.replies:
                out(f"bot> {reply}")
            if result.silent:
                out("(a human operator owns this chat: your message was forwarded)")
            if result.escalated:
                out(f"⚑ escalated: {result.escalation_reason} — a human will follow up")
            state = await handle.query(LeadWorkflow.state)
            seen_outbox = max(seen_outbox, len(state.outbox))
            out(state_line(state))
    finally:
        poller.cancel()
    return inp


def local_input(settings, chat_id: str | None, *, persist: bool, profile: str | None = None) -> LeadInput:
    return lead_input(settings, channel="local", chat_id=chat_id or default_chat_id(), persist=persist,
                      profile_name=profile)


def interactive() -> bool:
    return sys.stdin.isatty()

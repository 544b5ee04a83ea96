"""What every drill needs: real `neuroseller worker` processes, a customer who retries, and the checks.

The checks are the drills' contract: no customer message lost (the workflow's transcript holds each
sent message exactly once, and so does PostgreSQL's dialogue log), no reply sent twice (the bot lines
of the transcript are exactly the replies the customer received), no lead lost or duplicated (one
`leads` row), and the dialogue goes on (a message after the failure gets its answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError

from neuroseller.pii import mask_pii
from neuroseller.settings import Settings
from workers.client import lead_input, send_message
from workflows.types import IncomingMessage, LeadInput, LeadState, TranscriptEntry, TurnResult

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class WorkerProc:
    """`neuroseller worker` as a child process: the real entry point, killed for real."""

    env: dict[str, str]
    proc: asyncio.subprocess.Process | None = None
    started_at: float = 0.0

    async def start(self, timeout: float = 60) -> WorkerProc:
        env = {**os.environ, "LOG_LEVEL": "WARNING", **self.env}
        self.proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "neuroseller"), "worker", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if b"worker on task queue" not in line:
            raise RuntimeError(f"worker did not start: {line!r}")
        self.started_at = time.monotonic()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def sigterm(self) -> float:
        """SIGTERM and wait; the seconds it took to exit."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.proc.wait(), 60)
        return time.monotonic() - started

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def worker_env(address: str, task_queue: str, dsn: str, **extra: object) -> dict[str, str]:
    env = {"TEMPORAL_ADDRESS": address, "TASK_QUEUE": task_queue, "DATABASE_URL": dsn, "LLM_PROVIDER": "rules",
           "PROFILES_DIR": str(ROOT / "profiles"), "CATALOG_PATH": str(ROOT / "catalog/sample/catalog.csv"),
           "WORKER_GRACEFUL_SHUTDOWN_SECONDS": "10", "CRM_SINKS": "", "PERSIST_LEADS": "true"}
    env.update({k.upper(): str(v) for k, v in extra.items()})
    return env


@contextlib.asynccontextmanager
async def workers(*envs: dict[str, str]) -> AsyncIterator[list[WorkerProc]]:
    procs = [WorkerProc(env) for env in envs]
    try:
        await asyncio.gather(*(p.start() for p in procs))
        yield procs
    finally:
        for p in procs:
            await p.stop()


@dataclass
class Customer:
    """One customer writing to one lead; retries a message (same id) until Temporal answers."""

    client: Client
    inp: LeadInput
    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    results: list[TurnResult] = field(default_factory=list)
    retries: int = 0

    @classmethod
    def new(cls, client: Client, settings: Settings, chat_id: str, task_queue: str) -> Customer:
        return cls(client, lead_input(settings, channel="drill", chat_id=chat_id, task_queue=task_queue))

    @property
    def lead_id(self) -> str:
        return self.inp.state.lead_id

    async def says(self, text: str, timeout: float = 90) -> TurnResult:
        n = len(self.sent)
        self.sent.append(text)
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = await send_message(self.client, self.inp,
                                            IncomingMessage(text=text, message_id=f"{self.lead_id}-{n}"))
                break
            except RPCError:  # the server is down or restarting: the same message id, again
                self.retries += 1
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        self.results.append(result)
        self.received += result.replies
        return result

    async def state(self) -> LeadState:
        return await self.client.get_workflow_handle(self.lead_id).query("state", result_type=LeadState)

    async def transcript(self) -> list[TranscriptEntry]:
        return await self.client.get_workflow_handle(self.lead_id).query(
            "transcript", result_type=list[TranscriptEntry])


async def assert_dialogue_whole(customer: Customer, dsn: str | None = None, *, wait: float = 45) -> str:
    """The drills' contract, checked in Temporal and (when `dsn`) in PostgreSQL; returns a summary."""
    entries = await customer.transcript()
    said = [e.text for e in entries if e.role == "customer"]
    bot = [e.text for e in entries if e.role == "bot"]
    assert said == [mask_pii(t) for t in customer.sent], "each customer message exactly once, in order"
    assert bot == customer.received, "each reply exactly once (none lost, none repeated)"
    assert all(r.replies for r in customer.results), "every message got an answer"
    if dsn is None:
        return f"{len(said)} messages, {len(bot)} replies"
    deadline = time.monotonic() + wait
    while True:  # CRM writes are off the reply path: they land when the sink is back
        conn = await asyncpg.connect(dsn)
        try:
            leads = await conn.fetchval("SELECT count(*) FROM leads WHERE lead_id = $1", customer.lead_id)
            logged = [r["text"] for r in await conn.fetch(
                "SELECT text FROM messages WHERE lead_id = $1 AND role = 'customer' ORDER BY at, seq",
                customer.lead_id)]
        finally:
            await conn.close()
        if len(logged) >= len(said) and leads >= 1:
            break
        assert time.monotonic() < deadline, f"CRM never caught up: {leads} lead rows, {len(logged)} messages"
        await asyncio.sleep(0.5)
    assert leads == 1, "one lead, not lost, not duplicated"
    assert len(logged) == len(said), "the dialogue log holds each message once (PII masked, so counted)"
    return f"{len(said)} messages, {len(bot)} replies, 1 lead row"

"""`neuroseller simulate`: run scripted dialogues through real LeadWorkflows — a shop's regression test.

Each dialogue is a real lead workflow on a real Temporal server (an embedded one is started when
none runs), served by an in-process worker on a private task queue with the given catalog,
profile and model, so a simulation never disturbs production workers or the CRM.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.client import Client

from activities.brain.llm import make_model
from activities.profiles import ProfileError, ProfileStore, load_profile
from catalog.loader import load_csv
from catalog.schema import Catalog
from neuroseller.settings import Settings
from workers.client import connect, lead_input, send_message
from workers.devserver import DevServer, free_port
from workers.worker import build_worker
from workflows.lead import LeadWorkflow
from workflows.types import Customer, IncomingMessage, LeadState


class SimulateError(ValueError):
    """Bad simulate input (file, line and reason)."""


class DialogueUser(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    first_name: str | None = None
    username: str | None = None
    id: int | None = None
    phone: str | None = None

    def customer(self) -> Customer:
        return Customer(name=self.name or self.first_name, username=self.username, user_id=self.id,
                        phone=self.phone)


class Dialogue(BaseModel):
    model_config = ConfigDict(extra="ignore")

    dialogue_id: str
    turns: list[str] = Field(min_length=1)
    user: DialogueUser | None = None
    chat_id: str | None = None


def read_dialogues(path: Path) -> list[Dialogue]:
    """Parse the JSONL input; every bad line is reported with its number, none is skipped silently."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as err:
        raise SimulateError(f"{path}: file not found") from err
    except UnicodeDecodeError as err:
        raise SimulateError(f"{path}: not UTF-8 text") from err
    out: list[Dialogue] = []
    problems: list[str] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if isinstance(raw, dict) and raw.get("dialogue_id") is not None:
                raw["dialogue_id"] = str(raw["dialogue_id"])
            if isinstance(raw, dict) and raw.get("chat_id") is not None:
                raw["chat_id"] = str(raw["chat_id"])
            out.append(Dialogue.model_validate(raw))
        except json.JSONDecodeError as err:
            problems.append(f"{path}:{n}: not valid JSON ({err.msg}, column {err.colno})")
        except ValidationError as err:
            first = err.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "(line)"
            problems.append(f"{path}:{n}: key '{key}': {first['msg']}")
    seen: dict[str, int] = {}
    for n, dlg in enumerate(out, 1):
        if dlg.dialogue_id in seen:
            problems.append(f"{path}: dialogue_id '{dlg.dialogue_id}' appears twice (dialogues {seen[dlg.dialogue_id]} "
                            f"and {n}): ids name the workflows, so they must be unique")
        seen.setdefault(dlg.dialogue_id, n)
    if problems:
        raise SimulateError("; ".join(problems[:10]) + (f" (+{len(problems) - 10} more)" if len(problems) > 10
                                                         else ""))
    if not out:
        raise SimulateError(f"{path}: no dialogues")
    return out


def resolve_profile(settings: Settings, profile: str | None) -> ProfileStore:
    """`--profile` is a TOML path or a profile name in PROFILES_DIR."""
    if profile is None:
        return ProfileStore(settings.profiles_dir)
    path = Path(profile)
    if not path.suffix and not path.exists():
        path = settings.profiles_dir / f"{profile}.toml"
    return ProfileStore(None, override=load_profile(path))


@asynccontextmanager
async def temporal_for(settings: Settings) -> AsyncIterator[Client]:
    """The configured server, the embedded one if it runs, else a private in-memory one."""
    if settings.temporal_address:
        yield await connect(settings.temporal_address, settings.temporal_namespace)
        return
    try:
        client = await asyncio.wait_for(connect(f"127.0.0.1:{settings.temporal_port}",
                                                settings.temporal_namespace), 3)
        yield client
        return
    except Exception:  # noqa: BLE001 - nothing runs there: start our own
        pass
    async with DevServer(port=free_port(), ui_port=None, var_dir=None) as server:
        yield await connect(server.address)


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)[:80]


async def run_dialogue(client: Client, settings: Settings, dlg: Dialogue, *, task_queue: str, tag: str,
                       persist: bool) -> dict[str, Any]:
    chat_id = dlg.chat_id or dlg.dialogue_id
    wid = f"lead-sim-{_safe(dlg.dialogue_id)}-{tag}"
    customer = dlg.user.customer() if dlg.user else Customer()
    inp = lead_input(settings, channel="sim", chat_id=chat_id, customer=customer, task_queue=task_queue,
                     workflow_id=wid, persist=persist)
    turns: list[dict[str, Any]] = []
    for i, text in enumerate(dlg.turns):
        started = time.perf_counter()
        try:
            result = await send_message(client, inp, IncomingMessage(text=text, message_id=f"{wid}:{i}",
                                                                     customer=customer if i == 0 else None))
        except Exception as err:  # noqa: BLE001 - one bad turn is reported in its dialogue, the run goes on
            turns.append({"user": text, "replies": [], "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                          "escalated": False, "escalation_reason": None, "error": f"{type(err).__name__}: {err}"})
            continue
        latency = (time.perf_counter() - started) * 1000
        turns.append({"user": text, "replies": result.replies, "latency_ms": round(latency, 1),
                      "escalated": result.escalated, "escalation_reason": result.escalation_reason,
                      "silent": result.silent, "status": result.status.value})
    handle = client.get_workflow_handle(wid)
    state: LeadState = await handle.query(LeadWorkflow.state)
    if not persist:
        try:
            await handle.terminate(reason="simulation finished")
        except Exception:  # noqa: BLE001 - already closed is fine
            pass
    lead = None
    if state.lead.captured:
        lead = {"name": state.lead.name, "contact": state.lead.contact, "phone": state.lead.phone,
                "email": state.lead.email, "request": state.lead.request,
                "items": state.lead.items, "amount": float(state.lead.amount) if state.lead.amount is not None
                else None, "currency": state.lead.currency, "status": state.lead.status.value}
    return {
        "dialogue_id": dlg.dialogue_id,
        "workflow_id": wid,
        "turns": turns,
        "lead": lead,
        "escalations": [{"reason": e.reason, "detail": e.detail, "at": e.at.isoformat() if e.at else None}
                        for e in state.escalations],
        "state": {"stage": state.stage.value, "mode": state.mode.value, "language": state.language,
                  "cart": [c.model_dump() for c in state.cart], "opted_out": state.opted_out},
    }


async def simulate(settings: Settings, dialogues_path: Path, *, catalog_path: Path | None, out_path: Path,
                   profile: str | None = None, llm: str | None = None, concurrency: int = 4,
                   persist: bool = False) -> list[dict[str, Any]]:
    """Run every dialogue and write one JSON line each (in input order) to `out_path`."""
    if concurrency < 1:
        raise SimulateError(f"--concurrency must be at least 1, got {concurrency}")
    dialogues = read_dialogues(dialogues_path)
    if llm:
        settings = settings.model_copy(update={"llm_provider": llm})
    catalog: Catalog = load_csv(catalog_path or settings.catalog_path)
    try:
        profiles = resolve_profile(settings, profile)
    except ProfileError as err:
        raise SimulateError(str(err)) from err
    tag = uuid.uuid4().hex[:8]
    task_queue = f"simulate-{tag}"
    results: list[dict[str, Any] | None] = [None] * len(dialogues)
    async with temporal_for(settings) as client:
        worker = build_worker(client, settings, catalog=lambda: catalog, profiles=profiles, task_queue=task_queue,
                              model=make_model(settings))
        sem = asyncio.Semaphore(max(concurrency, 1))

        async def one(i: int, dlg: Dialogue) -> None:
            async with sem:
                results[i] = await run_dialogue(client, settings, dlg, task_queue=task_queue, tag=tag,
                                                persist=persist)

        async with worker:
            await asyncio.gather(*(one(i, d) for i, d in enumerate(dialogues)))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done = [r for r in results if r is not None]
    with out_path.open("w", encoding="utf-8") as fh:
        for r in done:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return done


def summary(results: list[dict[str, Any]]) -> str:
    """A one-paragraph report: leads captured, escalations, next-step coverage, latency."""
    from activities.brain.guard import has_next_step

    replies = [t["replies"][-1] for d in results for t in d["turns"] if t["replies"]]
    with_step = sum(1 for r in replies if has_next_step(r))
    lat = sorted(t["latency_ms"] for d in results for t in d["turns"])
    p50 = lat[len(lat) // 2] if lat else 0
    p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))] if lat else 0
    leads = sum(1 for d in results if d["lead"])
    esc = sum(1 for d in results if d["escalations"])
    cov = 100 * with_step / len(replies) if replies else 0
    return (f"{len(results)} dialogues, {len(lat)} turns: {leads} leads captured, {esc} escalated, "
            f"next step in {cov:.0f}% of answered turns, latency p50 {p50:.0f} ms, p95 {p95:.0f} ms")

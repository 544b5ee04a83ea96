"""`neuroseller report`: scripted dialogues through real lead workflows into real PostgreSQL, and the
report's figures checked against what the script says they must be (counted by hand below)."""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from activities.brain.llm import make_model
from activities.crm.activity import CrmActivities
from activities.crm.db import Database
from activities.crm.db.scratch import scratch_database
from activities.crm.postgres_sink import PostgresSink
from activities.crm.report import Report, ReportQuery, bucket_labels, build_report
from activities.profiles import ProfileStore
from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from tests.fakes.openai_server import FakeOpenAIServer
from workers.client import lead_input, send_message
from workers.report_cli import query_from, register, render_text, run_report
from workers.worker import build_worker
from workflows.lead import LeadWorkflow
from workflows.profile import Profile, Timers
from workflows.types import CampaignOffer, CartEvent, IncomingMessage, LeadInput, OperatorAction

CATALOG = load_csv(SAMPLE_CATALOG)
PRICE = "Сколько стоит палатка на двоих?"
GOOD = "{name:TENT-2P} — {price:TENT-2P}. Оформим заказ?"
BAD = "Палатка стоит всего 100 рублей, берите! Оформим?"  # an invented figure: the guard refuses it
FAST = Profile(name="fast", shop_name="Тест",
               timers=Timers(followup_after_seconds=0.5, abandoned_cart_after_seconds=0.5, max_followups=1,
                             escalation_renotify_seconds=600))


@dataclass
class Shop:
    client: Client
    db: Database
    dsn: str
    settings: Settings
    queues: dict[str, str]
    model_settings: Settings
    leads: dict[str, LeadInput] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def lead(self, name: str, queue: str = "rules", **kw: object) -> LeadInput:
        settings = self.model_settings if queue == "model" else self.settings
        inp = lead_input(settings, channel=kw.pop("channel", "test"), chat_id=f"{name}-{uuid.uuid4().hex[:6]}",
                         task_queue=self.queues[queue], **kw)
        self.leads[name] = inp
        return inp

    async def say(self, inp: LeadInput, text: str, **kw: object):
        return await send_message(self.client, inp, IncomingMessage(text=text, **kw))

    def handle(self, name: str):
        return self.client.get_workflow_handle(self.leads[name].state.lead_id)

    async def settle(self, expected_events: int | None = None) -> None:
        """Wait until every workflow has written its batches (the CRM writes run after the reply)."""
        for _ in range(200):
            busy = False
            for inp in self.leads.values():
                st = await self.client.get_workflow_handle(inp.state.lead_id).query(LeadWorkflow.state)
                pool = await self.db.pool()
                n = await pool.fetchval("SELECT count(*) FROM events WHERE lead_id = $1", inp.state.lead_id)
                m = await pool.fetchval("SELECT count(*) FROM messages WHERE lead_id = $1", inp.state.lead_id)
                if n + m < st.log_seq:
                    busy = True
            if not busy:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("CRM writes did not settle")


@pytest.fixture(scope="module")
async def shop(temporal_env) -> AsyncIterator[Shop]:
    async with scratch_database() as dsn, Database(dsn) as db:
        await db.migrate()
        crm = CrmActivities({"postgres": PostgresSink(db)})
        extra = [crm.persist_lead, crm.sink_names]
        async with FakeOpenAIServer(script=[GOOD, BAD, BAD]) as llm:
            base = Settings(_env_file=None, llm_provider="rules", profiles_dir=ROOT / "profiles", database_url=dsn)
            model_settings = base.model_copy(update={
                "llm_provider": "openai", "llm_model": "gpt-4o-mini", "llm_timeout_seconds": 5, "llm_max_attempts": 1,
                "openai_api_key": SecretStr("sk-test-0123456789"), "openai_base_url": llm.base_url})
            queues = {k: f"report-{k}-{uuid.uuid4().hex[:6]}" for k in ("rules", "fast", "model")}
            async with build_worker(temporal_env.client, base, catalog=lambda: CATALOG, task_queue=queues["rules"],
                                    extra_activities=extra), \
                    build_worker(temporal_env.client, base, catalog=lambda: CATALOG, task_queue=queues["fast"],
                                 profiles=ProfileStore(None, override=FAST), extra_activities=extra), \
                    build_worker(temporal_env.client, model_settings, catalog=lambda: CATALOG,
                                 task_queue=queues["model"], extra_activities=extra, model=make_model(model_settings)):
                s = Shop(temporal_env.client, db, dsn, base, queues, model_settings)
                await script(s, llm)
                yield s


async def script(s: Shop, llm: FakeOpenAIServer) -> None:
    """The week, by hand. Expected figures are in `test_*` below."""
    won = s.lead("won")  # intent → cart → contact → checkout → paid
    await s.say(won, PRICE, sent_at=datetime.now(UTC) - timedelta(seconds=6))  # the channel saw it 6 s ago
    await s.say(won, "Беру")
    await s.say(won, "Анна, +7 912 345-67-89")
    await s.handle("won").signal(LeadWorkflow.cart_event, CartEvent(action="paid"))

    checkout = s.lead("checkout", profile_name="vip_group")
    await s.say(checkout, PRICE)
    await s.say(checkout, "Беру")
    await s.say(checkout, "Иван, +7 912 000-11-22")
    spring = CampaignOffer(campaign_id="spring", text_ru="Весна!")
    await s.handle("checkout").signal(LeadWorkflow.campaign_offer, spring)

    lost = s.lead("lost")  # a cart, then cancelled: a lost lead
    await s.say(lost, PRICE)
    await s.say(lost, "Беру")
    await s.say(lost, "передумал, отмените заказ")

    no = s.lead("no_thanks")
    await s.say(no, PRICE)
    await s.say(no, "нет, не надо")

    await s.say(s.lead("chat"), "привет")  # chit-chat: a dialogue, never a lead

    human = s.lead("human")
    await s.say(human, "соедините меня с менеджером")
    await s.handle("human").signal(LeadWorkflow.operator_takeover, OperatorAction(operator="olga"))

    opted = s.lead("opted")
    await s.say(opted, "привет")
    await s.say(opted, "больше не пишите мне")
    await s.handle("opted").signal(LeadWorkflow.campaign_offer, spring)

    follow = s.lead("follow", queue="fast")  # asks, goes quiet, gets a follow-up, comes back and orders
    await s.say(follow, PRICE)
    for _ in range(100):
        st = await s.handle("follow").query(LeadWorkflow.state)
        if st.followups_sent:
            break
        await asyncio.sleep(0.1)
    await s.say(follow, "Беру, Пётр, +7 912 333-44-55")
    for _ in range(100):  # the reminder the order's own turn scheduled comes due, and is held back
        st = await s.handle("follow").query(LeadWorkflow.state)
        if st.followup_due_at is None:
            break
        await asyncio.sleep(0.1)

    await s.say(s.lead("model_ok", queue="model"), PRICE)  # the model's draft passes the guard
    await s.say(s.lead("model_bad", queue="model"), PRICE)  # two drafts with invented figures: replaced by rules
    llm.fail_next(500)
    await s.say(s.lead("model_down", queue="model"), PRICE)  # the model fails: rules answer, a human is called
    await s.settle()


async def report(s: Shop, **kw: object) -> Report:
    q = ReportQuery(since=s.started - timedelta(minutes=1), until=datetime.now(UTC) + timedelta(minutes=1), **kw)
    return await build_report(await s.db.pool(), q)


async def test_funnel_follows_each_dialogue_to_where_it_got(shop: Shop):
    r = await report(shop)
    counts = {f.name: f.count for f in r.funnel}
    # 11 dialogues; intent: won, checkout, lost, no_thanks, follow and the 3 model price questions;
    # contact: won, checkout, follow (each with a cart, so the cart step keeps all 3); lost had a cart
    # but no contact: it stays at "buying intent" and counts as an abandoned cart
    assert counts == {"dialogues": 11, "buying intent": 8, "lead with contact": 3, "cart": 3, "checkout": 3,
                      "won": 1}
    assert r.carts_without_contact == 1
    funnel = {f.name: f for f in r.funnel}
    assert funnel["buying intent"].conversion == pytest.approx(8 / 11)
    assert funnel["lead with contact"].conversion == pytest.approx(3 / 8)
    assert funnel["cart"].conversion == pytest.approx(1.0)
    assert funnel["won"].conversion == pytest.approx(1 / 3)
    assert funnel["won"].of_dialogues == pytest.approx(1 / 11)
    assert funnel["dialogues"].conversion is None


async def test_reply_time_percentiles_match_the_recorded_latencies(shop: Shop):
    r = await report(shop)
    pool = await shop.db.pool()
    rows = await pool.fetch("SELECT (data->>'ms')::float8 AS ms FROM events WHERE kind = 'reply_latency'")
    ms = sorted(r["ms"] for r in rows)
    # one reply per customer message except the one while a human owned the chat: none here (takeover came after)
    assert len(ms) == r.reply.count == 20
    q = statistics.quantiles(ms, n=100, method="inclusive")  # the same interpolation as percentile_cont
    assert r.reply.p50_ms == pytest.approx(statistics.median(ms))
    assert r.reply.p95_ms == pytest.approx(q[94])
    assert r.reply.p99_ms == pytest.approx(q[98])
    assert max(ms) >= 6000  # the message the channel stamped 6 s before it reached us
    hist = {b.label: b.count for b in r.reply_histogram}
    assert list(hist) == bucket_labels()
    assert sum(hist.values()) == 20
    assert hist["5s–10s"] >= 1


async def test_escalations_by_reason_with_time_to_takeover(shop: Shop):
    r = await report(shop)
    rows = {e.reason: e for e in r.escalations}
    assert rows["human_request"].count == 1
    assert rows["human_request"].taken == 1
    assert rows["human_request"].takeover_p50_s is not None and rows["human_request"].takeover_p50_s < 60
    assert rows["llm_failure"].count == 1 and rows["llm_failure"].taken == 0


async def test_refusals_guard_failover_and_model_calls(shop: Shop):
    r = await report(shop)
    assert {c.key: c.count for c in r.refusals} == {"lost": 1, "no_thanks": 1, "opt_out": 1}
    assert {c.key: c.count for c in r.guard} == {"passed": 1, "replaced": 1}
    assert {c.key: c.count for c in r.failovers} == {"model_error": 1}
    (model,) = r.model
    assert model.provider == "openai" and model.calls == 3  # one good draft, two refused drafts
    assert model.tokens_in == 30  # the fake reports 10 prompt tokens a call


async def test_follow_ups_and_their_conversion_and_proactive_messages(shop: Shop):
    r = await report(shop)
    assert (r.followups.sent, r.followups.leads, r.followups.replied, r.followups.converted) == (1, 1, 1, 1)
    # every bot-initiated sales message goes through the no-spam policy, which records it: the
    # campaign and the follow-up (also counted on its own above)
    assert {c.key: c.count for c in r.proactive_sent} == {"campaign": 1, "followup": 1}
    # the campaign to the opted-out customer, and the reminder due after the follow-up lead ordered
    assert {c.key: c.count for c in r.proactive_suppressed} == {"opted_out": 1, "checkout": 1}


async def test_per_profile_and_campaign_and_filters(shop: Shop):
    r = await report(shop)
    profiles = {s.value: s for s in r.segments["profile"]}
    assert profiles["vip_group"].dialogues == 1 and profiles["vip_group"].checkout == 1
    assert profiles["fast"].won == 0 and profiles["fast"].checkout == 1
    assert sum(p.dialogues for p in profiles.values()) == 11
    assert {s.value: s.dialogues for s in r.segments["campaign"]} == {"spring": 2}
    assert "variant" not in r.segments  # nobody records variants yet: no empty table
    only = await report(shop, profile="vip_group")
    assert [f.count for f in only.funnel] == [1, 1, 1, 1, 1, 0]
    assert (await report(shop, channel="tg")).funnel[0].count == 0


async def test_days_add_up_to_the_period(shop: Shop):
    r = await report(shop, timezone="Europe/Moscow")
    assert sum(d.dialogues for d in r.days) == 11
    assert sum(d.won for d in r.days) == 1
    assert sum(d.leads for d in r.days) == 8
    assert sum(d.escalations for d in r.days) == 2


async def test_report_command_prints_the_figures_and_writes_html(shop: Shop, tmp_path: Path):
    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="command"))
    html = tmp_path / "report.html"
    args = p.parse_args(["report", "--since", "1h", "--html", str(html)])
    out = io.StringIO()
    assert await run_report(args, shop.settings, out=out) == 0
    text = out.getvalue()
    assert "won" in text and "human_request" in text and "By profile:" in text and "p95" in text
    assert html.read_text(encoding="utf-8").count('class="plotly-graph-div"') >= 4
    bad = p.parse_args(["report", "--since", "2026-01-02", "--until", "2026-01-01"])
    assert await run_report(bad, shop.settings, out=io.StringIO()) == 2
    assert await run_report(p.parse_args(["report", "--tz", "Mars/Olympus"]), shop.settings, out=io.StringIO()) == 2


def test_period_defaults_to_the_last_seven_days():
    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="command"))
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    q = query_from(p.parse_args(["report"]), Settings(_env_file=None, report_timezone="Europe/Moscow"), now=now)
    assert (q.since, q.until, q.timezone) == (now - timedelta(days=7), now, "Europe/Moscow")


async def test_an_empty_period_reports_zeros_not_errors(shop: Shop):
    q = ReportQuery(since=datetime(2020, 1, 1, tzinfo=UTC), until=datetime(2020, 1, 8, tzinfo=UTC))
    r = await build_report(await shop.db.pool(), q)
    assert [f.count for f in r.funnel] == [0] * 6 and r.reply.count == 0 and r.reply.p50_ms is None
    assert len(r.days) == 7 and not r.segments
    assert "none" in render_text(r)


async def test_a_variant_column_added_later_is_reported_side_by_side(shop: Shop):
    """Issue 11 adds `leads.variant`: the report reads the column as soon as it exists (run last: it alters)."""
    pool = await shop.db.pool()
    await pool.execute("ALTER TABLE leads ADD COLUMN IF NOT EXISTS variant text")
    await pool.execute("UPDATE leads SET variant = 'A' WHERE lead_id = $1", shop.leads["won"].state.lead_id)
    await pool.execute("UPDATE leads SET variant = 'B' WHERE lead_id = $1", shop.leads["checkout"].state.lead_id)
    r = await report(shop)
    variants = {s.value: (s.dialogues, s.checkout, s.won) for s in r.segments["variant"]}
    assert variants == {"A": (1, 1, 1), "B": (1, 1, 0)}
    assert "By variant:" in render_text(r)

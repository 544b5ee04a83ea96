"""Proactive messages inside a lead's workflow: every one passes the no-spam policy, here.

`LeadWorkflow` inherits this mixin; it uses the lead's own lock, state, `_event`, `_compose`,
`_deliver`. Entry points: update `proactive` (campaigns, catalog triggers: returns what happened),
signal `shop_event` (site views, subscribers), and `_proactive_allow_followup` called before the
workflow's own silence / abandoned-cart follow-up. A message due in quiet hours waits as a durable
timer (`_proactive_loop`, started by the workflow's run) and is decided again when it is due.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows import policy
    from workflows import search_attributes as sa
    from workflows.nospam import Action, Decision, LeadFacts, recent
    from workflows.proactive_types import (
        DONE_LIMIT,
        LOG_LIMIT,
        PendingProactive,
        PlanRequest,
        PlanResult,
        ProactiveLogEntry,
        ProactiveOutcome,
        ProactiveRequest,
        ShopEvent,
    )
    from workflows.types import CampaignOffer, Mode, TurnAnalysis

PATCH = "proactive-selling"  # histories recorded before issue 11 replay without its new commands
PLAN_TIMEOUT = timedelta(seconds=10)
PLAN_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))
WATCHED_LIMIT = 12


class ProactiveMixin:
    """Handlers and helpers for bot-initiated messages; see the module docstring."""

    _s: Any
    _lock: asyncio.Lock
    _proactive_kick = False

    # ---- inputs -------------------------------------------------------------------------------

    @workflow.update
    async def proactive(self, req: ProactiveRequest) -> ProactiveOutcome:
        async with self._lock:
            outcome = await self._proactive_handle(req)
            self._after_change()  # type: ignore[attr-defined]
            return outcome

    @proactive.validator
    def _validate_proactive(self, req: ProactiveRequest) -> None:
        if not req.key or not (req.text_ru or req.text_en):
            raise ValueError("a proactive message needs a key and a text")

    @workflow.signal
    async def shop_event(self, ev: ShopEvent) -> None:
        """The shop's site: a product view starts the follow-up timer; a consenting subscriber may be written to."""
        async with self._lock:
            s = self._s
            if ev.type == "view" and ev.sku:
                s.last_skus = [ev.sku, *(k for k in s.last_skus if k != ev.sku)][:8]
                s.proactive.asked = [ev.sku.upper(), *(k for k in s.proactive.asked if k != ev.sku.upper())][
                    :WATCHED_LIMIT]
                self._event("shop_view", sku=ev.sku)  # type: ignore[attr-defined]
                if not (s.opted_out or s.unreachable or s.mode == Mode.HUMAN) and s.followup_due_at is None:
                    s.followup_due_at = workflow.now() + timedelta(seconds=s.timers.followup_after_seconds)
            elif ev.type == "subscriber":
                self._event("shop_subscriber", consent=str(ev.consent).lower())  # type: ignore[attr-defined]
                if ev.consent and not s.proactive.opted_in:
                    s.proactive.opted_in = True
                    await self._proactive_welcome()
            self._after_change()  # type: ignore[attr-defined]

    async def _proactive_offer(self, offer: CampaignOffer) -> None:
        """The `campaign_offer` signal, routed through the policy like every proactive message."""
        await self.proactive(ProactiveRequest(
            key=offer.request_id or f"campaign:{offer.campaign_id}", kind="campaign", source=offer.campaign_id,
            text_ru=offer.text_ru, text_en=offer.text_en, skus=offer.skus))

    def _proactive_cart_followup(self) -> None:
        """After a shop's cart event: a cart left without checkout starts the abandoned-cart timer."""
        if workflow.patched(PATCH):
            self._schedule_followup()  # type: ignore[attr-defined]

    # ---- the decision, in one place ----------------------------------------------------------

    async def _proactive_plan(self) -> Decision:
        return (await self._proactive_plan_full()).decision

    async def _proactive_plan_full(self) -> PlanResult:
        s = self._s
        facts = LeadFacts(engaged=s.turns > 0 or s.proactive.opted_in, opted_out=s.opted_out,
                          human=s.mode == Mode.HUMAN, unreachable=s.unreachable, status=s.lead.status.value,
                          sent_at=s.proactive.sent_at)
        plan: PlanResult = await workflow.execute_local_activity(
            "plan_proactive",
            PlanRequest(lead_id=s.lead_id, profile_name=s.profile_name, chat_id=s.chat_id,
                        phone=s.lead.phone or s.customer.phone, facts=facts, now=workflow.now()),
            result_type=PlanResult, start_to_close_timeout=PLAN_TIMEOUT, retry_policy=PLAN_RETRY,
            summary="no-spam policy")
        return plan

    async def _proactive_handle(self, req: ProactiveRequest, *, due: bool = False) -> ProactiveOutcome:
        """Decide and act on one request; `due` when a deferred one's timer fired (its key is taken)."""
        p = self._s.proactive
        if not due and req.key in p.done:
            return ProactiveOutcome(lead_id=self._s.lead_id, action="duplicate", reason=p.done[req.key])
        decision = await self._proactive_plan()
        if decision.action == Action.SEND:
            text = (await self._compose("campaign", text_ru=req.text_ru,  # type: ignore[attr-defined]
                                        text_en=req.text_en)).text
            self._transcript("bot", text)  # type: ignore[attr-defined]
            self._proactive_count(req.kind, req.key, req.source)
            await self._deliver(text, "campaign", bot_initiated=True)  # type: ignore[attr-defined]
            outcome = ProactiveOutcome(lead_id=self._s.lead_id, action="sent")
        elif decision.action == Action.DEFER:
            p.pending = [*p.pending, PendingProactive(request=req, due=decision.until)]
            self._proactive_record(req.key, req.kind, "deferred", decision.reason, source=req.source,
                                   until=decision.until.isoformat())
            self._proactive_kick = True
            outcome = ProactiveOutcome(lead_id=self._s.lead_id, action="deferred", reason=decision.reason,
                                       until=decision.until)
        else:
            self._proactive_record(req.key, req.kind, "suppressed", decision.reason, source=req.source)
            outcome = ProactiveOutcome(lead_id=self._s.lead_id, action="suppressed", reason=decision.reason)
        outcome.status = self._s.lead.status.value
        if req.key not in p.done:
            p.done[req.key] = outcome.action
            while len(p.done) > DONE_LIMIT:  # oldest first: dicts keep insertion order
                p.done.pop(next(iter(p.done)))
        return outcome

    async def _proactive_allow_followup(self) -> bool:
        """Gate of the workflow's own follow-up (caller holds the lock): send now, move to the morning, or drop."""
        s = self._s
        if not workflow.patched(PATCH):
            return True
        decision = await self._proactive_plan()
        key = f"followup:{s.followups_sent + 1}"
        if decision.action == Action.SEND:
            self._proactive_count("followup", key, "")
            return True
        if decision.action == Action.DEFER:
            s.followup_due_at = decision.until
            self._proactive_record(key, "followup", "deferred", decision.reason, until=decision.until.isoformat())
        else:
            self._proactive_record(key, "followup", "suppressed", decision.reason)
        return False

    async def _proactive_welcome(self) -> None:
        """A subscriber who consented on the site gets the profile's welcome, if it has one (still policed)."""
        plan = await self._proactive_plan_full()
        if plan.welcome_ru or plan.welcome_en:
            await self._proactive_handle(ProactiveRequest(
                key="subscriber:welcome", kind="subscriber", source="subscriber",
                text_ru=plan.welcome_ru, text_en=plan.welcome_en))

    # ---- deferred messages: durable timers -----------------------------------------------------

    async def _proactive_loop(self) -> None:
        """Sleeps until the earliest deferred message is due (a Temporal timer), then decides it again."""
        while True:
            p = self._s.proactive
            timeout = None
            if p.pending:
                earliest = min(x.due for x in p.pending)
                timeout = max((earliest - workflow.now()).total_seconds(), 0.001)
            self._proactive_kick = False
            try:
                await workflow.wait_condition(lambda: self._proactive_kick, timeout=timeout,
                                              timeout_summary="proactive message after quiet hours")
            except TimeoutError:
                pass
            now = workflow.now()
            for item in [x for x in p.pending if x.due <= now]:
                async with self._lock:
                    p.pending = [x for x in p.pending if x is not item]
                    await self._proactive_handle(item.request, due=True)
                    self._after_change()  # type: ignore[attr-defined]

    # ---- bookkeeping ---------------------------------------------------------------------------

    def _proactive_count(self, kind: str, key: str, source: str) -> None:
        p, now = self._s.proactive, workflow.now()
        p.sent_at = [*recent(p.sent_at, now), now]
        self._s.last_bot_at = now
        self._proactive_record(key, kind, "sent", "", source=source)

    def _proactive_record(self, key: str, kind: str, action: str, reason: str, **data: str) -> None:
        p = self._s.proactive
        p.log = [*p.log, ProactiveLogEntry(key=key, kind=kind, action=action, reason=reason,
                                           at=workflow.now())][-LOG_LIMIT:]
        extra = {k: v for k, v in data.items() if v}
        if kind == "campaign" and extra.get("source"):  # the report's per-campaign key (report_events)
            extra["campaign"] = extra["source"]
        if action == "sent":
            self._event("proactive_sent", key=key, kind=kind, **extra)  # type: ignore[attr-defined]
        elif action == "suppressed":
            self._event("proactive_suppressed", key=key, kind=kind, reason=reason, **extra)  # type: ignore[attr-defined]
        else:
            self._event("proactive_deferred", key=key, kind=kind, reason=reason, **extra)  # type: ignore[attr-defined]

    def _proactive_note_turn(self, analysis: TurnAnalysis) -> None:
        """After each turn's analysis: the item the customer asked about (not every fuzzy match), and
        the lead's A/B arm (the first one it got)."""
        p = self._s.proactive
        asked = [sku.upper() for sku in policy.asked_skus(analysis)]
        if asked:
            p.asked = [*asked, *(k for k in p.asked if k not in asked)][:WATCHED_LIMIT]
        if analysis.profile.variant and not p.variant:
            p.variant = analysis.profile.variant

    def _proactive_after_change(self) -> None:
        """Search attributes of proactive selling: the variant, and the SKUs the lead asked about or carted."""
        s = self._s
        if not workflow.patched(PATCH):
            return
        watched = sorted({*(c.sku.upper() for c in s.cart), *s.proactive.asked})[:WATCHED_LIMIT]
        if watched == s.proactive.watched and getattr(self, "_proactive_sa_variant", "") == s.proactive.variant:
            return
        s.proactive.watched = watched
        self._proactive_sa_variant = s.proactive.variant
        updates = [sa.WATCHED_SKUS.value_set(watched)]
        if s.proactive.variant:
            updates.append(sa.VARIANT.value_set(s.proactive.variant))
        workflow.upsert_search_attributes(updates)

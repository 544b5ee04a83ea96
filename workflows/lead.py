"""One lead = one workflow: the whole life of a customer conversation, durable across restarts.

Reads like the conversation: a customer message arrives as the `message` update, is analysed
against the catalog (local activity), moves the sales script (pure policy), gets a reply from the
model or the rules (one regular activity at most), passes the facts guard (local activity), and
is delivered. CRM writes and operator cards happen after the reply, off its path.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from workflows import cart, policy
    from workflows import report_events as rev
    from workflows import search_attributes as sa
    from workflows.proactive import ProactiveMixin
    from workflows.types import (
        AnalyzeRequest,
        BrainConfig,
        CallRecord,
        CallRequest,
        CallResult,
        CampaignOffer,
        CartEvent,
        CartLine,
        CheckRequest,
        ComposeRequest,
        ComposeResult,
        Draft,
        Escalation,
        EventRecord,
        GuardVerdict,
        IncomingMessage,
        LeadInput,
        LeadRecord,
        LeadState,
        LeadStatus,
        MessageRecord,
        Mode,
        OperatorAction,
        OperatorCard,
        OperatorMessage,
        OptOut,
        OutboundMessage,
        PersistBatch,
        ReplyRequest,
        SendResult,
        Stage,
        TranscriptEntry,
        TurnAnalysis,
        TurnResult,
    )

LOCAL = timedelta(seconds=10)
LOCAL_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))
PERSIST_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=2),
                            maximum_attempts=0, non_retryable_error_types=["CRMConfigError"])
SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1),
                         maximum_attempts=30)
SEEN_IDS_LIMIT = 200
SAFE_REPLY = {
    "ru": "Секунду, уточняю — менеджер ответит вам здесь в ближайшее время. Что ещё подсказать?",
    "en": "One moment, I'm checking — a manager will answer you here shortly. Anything else I can help with?",
}


@workflow.defn
class LeadWorkflow(ProactiveMixin):
    @workflow.init
    def __init__(self, inp: LeadInput) -> None:
        self._inp = inp
        self._s: LeadState = inp.state
        self._brain = BrainConfig(provider=inp.llm_provider, timeout_seconds=inp.llm_timeout_seconds,
                                  max_attempts=inp.llm_max_attempts)  # until a turn brings the worker's
        self._lock = asyncio.Lock()
        self._run_turns = 0
        self._wake = False
        self._batches: list[PersistBatch] = []
        self._persisting = False
        self._cards: list[OperatorCard] = []
        self._carding = False
        self._last_sa: tuple = ()
        self._turn_escalations: list[Escalation] = []

    # ---- main loop: timers, background writes, continue-as-new ---------------------------------

    @workflow.run
    async def run(self, inp: LeadInput) -> None:
        if self._s.created_at is None:
            self._s.created_at = workflow.now()
        self._upsert_search_attributes()
        self._set_details()
        persist = asyncio.create_task(self._persist_loop())
        cards = asyncio.create_task(self._card_loop())
        proactive = asyncio.create_task(self._proactive_loop())  # deferred proactive messages (issue 11)
        while True:
            deadline = self._next_deadline()
            timeout = None
            if deadline is not None:
                timeout = max((deadline - workflow.now()).total_seconds(), 0.001)
            try:
                await workflow.wait_condition(lambda: self._wake or self._should_continue(),
                                              timeout=timeout, timeout_summary="follow-up / re-notify")
            except TimeoutError:
                pass
            self._wake = False
            await self._fire_due_timers()
            if self._should_continue():
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() and not self._batches and not self._persisting
                    and not self._cards and not self._carding)
                persist.cancel()
                cards.cancel()
                proactive.cancel()
                workflow.continue_as_new(self._inp.model_copy(update={"state": self._s}))

    def _should_continue(self) -> bool:
        return (self._run_turns >= self._inp.continue_as_new_after_turns
                or workflow.info().is_continue_as_new_suggested())

    # ---- inputs -------------------------------------------------------------------------------

    @workflow.update
    async def message(self, msg: IncomingMessage) -> TurnResult:
        async with self._lock:
            return await self._turn(msg)

    @message.validator
    def _validate_message(self, msg: IncomingMessage) -> None:
        if len(msg.text) > 20_000:
            raise ValueError("message too long (over 20 000 characters)")

    @workflow.signal
    async def operator_takeover(self, action: OperatorAction) -> None:
        async with self._lock:
            self._s.mode = Mode.HUMAN
            self._s.operator = action.operator
            if self._s.escalated and self._s.escalations:  # report: time to takeover
                self._event(rev.TAKEOVER, seconds=rev.since_seconds(self._s.escalations[-1].at, workflow.now()),
                            reason=self._s.escalations[-1].reason)
            self._s.escalated = False
            self._s.renotify_due_at = None
            self._event("operator_takeover", operator=action.operator)
            self._after_change()

    @workflow.signal
    async def operator_release(self, action: OperatorAction) -> None:
        async with self._lock:
            self._s.mode = Mode.BOT
            self._s.operator = None
            self._s.escalated = False
            self._s.renotify_due_at = None
            self._event("operator_release", operator=action.operator)
            self._after_change()

    @workflow.signal
    async def operator_message(self, msg: OperatorMessage) -> None:
        """An operator writes to the customer; that implies a takeover so the bot never talks over them."""
        async with self._lock:
            if self._s.mode != Mode.HUMAN:
                self._s.mode = Mode.HUMAN
                self._s.operator = msg.operator
                if self._s.escalated and self._s.escalations:  # report: time to takeover
                    self._event(rev.TAKEOVER, seconds=rev.since_seconds(self._s.escalations[-1].at, workflow.now()),
                                reason=self._s.escalations[-1].reason)
                self._s.escalated = False
                self._s.renotify_due_at = None
                self._event("operator_takeover", operator=msg.operator, implicit="true")
            self._transcript("operator", msg.text)
            await self._deliver(msg.text, "operator", bot_initiated=True)
            self._after_change()

    @workflow.signal
    async def cart_event(self, ev: CartEvent) -> None:
        async with self._lock:
            action = ev.action.lower()
            if action == "add" and ev.sku:
                self._s.cart = policy.add_to_cart(self._s.cart, ev.sku, max(ev.qty, 1))
                self._s.lead.captured = True
            elif action == "remove" and ev.sku:
                self._s.cart = [c for c in self._s.cart if c.sku.upper() != ev.sku.upper()]
            elif action == "clear":
                self._s.cart = []
            elif action == "checkout":
                self._s.stage = Stage.CLOSING
            elif action == "paid":
                self._s.lead.status = LeadStatus.WON
                self._s.stage = Stage.ORDER
            elif action == "lost":
                self._s.lead.status = LeadStatus.LOST
                self._event(rev.REFUSAL, kind="lost", reason="cart_event")
            self._event("cart_event", action=action, sku=ev.sku or "", qty=str(ev.qty))
            await self._refresh_cart_value()
            self._after_change()
            self._proactive_cart_followup()  # a cart left without checkout starts the abandoned-cart timer

    @workflow.signal
    async def campaign_offer(self, offer: CampaignOffer) -> None:
        if offer.text_ru or offer.text_en:
            await self._proactive_offer(offer)  # the no-spam policy decides (workflows/proactive.py)

    @workflow.signal
    async def opt_out(self, req: OptOut) -> None:
        async with self._lock:
            self._opt_out(req.reason)
            self._after_change()

    @workflow.signal
    async def call_ended(self, call: CallRecord) -> None:
        """The voice gateway's record of a finished call (its phrases came as `message` updates)."""
        async with self._lock:
            self._s.calls = [*(c for c in self._s.calls if c.call_id != call.call_id), call][-20:]
            self._event("call", call_id=call.call_id, direction=call.direction, seconds=f"{call.duration_s:.0f}",
                        reason=call.end_reason)
            self._after_change()

    @workflow.signal
    async def request_call(self, req: CallRequest) -> None:
        """Call the customer back (a chat's call-back request, a campaign): the voice gateway dials."""
        if self._s.opted_out:
            return
        try:
            result: CallResult = await workflow.execute_activity(
                "place_call", req, result_type=CallResult, task_queue=req.task_queue,
                start_to_close_timeout=timedelta(seconds=60), retry_policy=SEND_RETRY, summary=f"call {req.reason}")
        except ActivityError as err:
            result = CallResult(ok=False, reason=str(err.cause or err)[:200])
        self._event("call_placed" if result.ok else "call_failed", reason=req.reason, call_id=result.call_id)

    @workflow.query
    def state(self) -> LeadState:
        return self._s

    @workflow.query
    def transcript(self) -> list[TranscriptEntry]:
        return self._s.transcript

    # ---- one customer turn --------------------------------------------------------------------

    async def _turn(self, msg: IncomingMessage) -> TurnResult:
        s = self._s
        if msg.message_id:
            if msg.message_id in s.seen_message_ids:
                return self._result([], duplicate=True)
            s.seen_message_ids = [*s.seen_message_ids, msg.message_id][-SEEN_IDS_LIMIT:]
        now = workflow.now()
        if msg.customer is not None:
            s.customer = s.customer.model_copy(update=msg.customer.model_dump(exclude_none=True))
        s.last_message_at = now
        s.turns += 1
        self._run_turns += 1
        s.followups_sent = 0
        self._turn_escalations = []

        try:
            analysis: TurnAnalysis = await workflow.execute_local_activity(
                "analyze_turn",
                AnalyzeRequest(lead_id=s.lead_id, chat_id=s.chat_id, profile_name=s.profile_name, text=msg.text,
                               kind=msg.kind, language=s.language if s.turns > 1 else None,
                               last_skus=s.last_skus),
                result_type=TurnAnalysis, start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY,
                summary=f"analyze: «{policy.clip(msg.text, 60)}»")
        except FailureError as err:  # e.g. no catalog loaded: the message is kept and a human is called
            workflow.logger.error("analysis failed for %s: %s", s.lead_id, err.cause or err)
            analysis = TurnAnalysis(language=policy.detect_language(msg.text, s.language), masked_text="…",
                                    intents=["system_error"])
            self._escalate("system_error", str(err.cause or err)[:200])
        s.language = analysis.language
        s.timers = analysis.profile.timers
        self._proactive_note_turn(analysis)  # asked-about items, A/B arm (workflows/proactive.py)
        self._brain = analysis.brain or self._brain  # the worker's model settings, read at run time
        self._transcript("customer", analysis.masked_text or msg.text, at=now)

        if s.mode == Mode.HUMAN:
            self._queue_card("forwarded", forwarded_text=analysis.masked_text or msg.text)
            self._after_change()
            return self._result([], silent=True)

        intents = set(analysis.intents)
        self._absorb_contacts(analysis)
        if "opt_out" in intents:
            self._opt_out("customer")
        matches = analysis.matches
        if matches:  # most recent first; older items stay reachable («беру палатку и коврик» after the mats)
            fresh = [m.sku for m in matches[:4]]
            s.last_skus = [*fresh, *(k for k in s.last_skus if k not in fresh)][:8]
        had_cart = bool(s.cart)
        change = cart.update_cart(s, analysis, intents)
        for kind, data in change.events:
            self._event(kind, **data)
        added, skipped = change.added, change.skipped
        if "cancel" in intents and not had_cart and "swap" not in intents:
            analysis.needs_human = "cancel_order"
        if not s.lead.captured and self._is_buying(analysis, intents):
            s.lead.captured = True
            s.lead.request = policy.clip(analysis.masked_text or msg.text, 200)
            self._event("lead_captured")
        reason = policy.escalation_reason(intents, unknown_item=analysis.unknown_item)
        if not reason and analysis.needs_human == "cancel_order":
            reason = "order_status"
        if reason:
            self._escalate(reason, analysis.unknown_item or policy.clip(analysis.masked_text or msg.text, 120))
        elif analysis.needs_human and analysis.needs_human != "cancel_order":
            self._escalate("question", analysis.needs_human)
        elif "discount" in intents and analysis.profile.max_discount_percent > 0:
            self._escalate("discount_request", policy.clip(analysis.masked_text or msg.text, 120))
        s.stage = policy.next_stage(s.stage, intents, has_matches=bool(matches), cart_nonempty=bool(s.cart),
                                    has_contact=bool(s.lead.contact))
        self._note_interest(analysis)
        await self._refresh_cart_value()

        req = self._reply_request(msg, analysis)
        req.cart_added, req.cart_skipped = added, skipped
        replies = await self._reply(req)
        s.bot_replies += 1
        for text in replies:
            self._transcript("bot", text)
        s.last_bot_at = workflow.now()
        self._schedule_followup()
        held = any(e.reason == "reply_deadline" for e in self._turn_escalations) and workflow.patched("hold-once")
        for text in replies[1:] if held else replies:  # the holding message went out when the deadline passed
            if not msg.spoken:  # a call's answer is spoken from the result by the voice gateway
                await self._deliver(text, "reply")
        latency = rev.latency_ms(msg.sent_at, now, workflow.now())
        self._event(rev.REPLY_LATENCY, ms=latency, channel=s.channel, profile=analysis.profile.name, turn=str(s.turns))
        workflow.logger.info("turn %d answered in %s ms: stage %s, status %s", s.turns, latency, s.stage.value,
                             s.lead.status.value, extra={"lead_id": s.lead_id, "channel": s.channel, "turn": s.turns})
        self._after_change()
        return self._result(replies)

    def _is_buying(self, a: TurnAnalysis, intents: set[str]) -> bool:
        if intents & {"buy", "checkout"} or self._s.cart or a.phone or a.email:
            return True
        if a.matches and (a.quantity or any(r.qty for r in a.requested)):
            return True  # «цемент м500 10 мешков и песок 20 мешков»: quantities are an order in all but name
        asked = intents & {"price", "availability", "discount", "need"}
        return bool(asked and (a.matches or a.unknown_item or self._s.last_skus))

    def _absorb_contacts(self, a: TurnAnalysis) -> None:
        lead = self._s.lead
        if a.customer_name:
            lead.name = a.customer_name
        elif not lead.name and self._s.customer.name:
            lead.name = self._s.customer.name
        if a.phone:
            lead.phone = a.phone
        elif not lead.phone and self._s.customer.phone:  # a caller's number (voice): known, not "left"
            lead.phone = self._s.customer.phone
        if a.email:
            lead.email = a.email
        if a.username:
            lead.username = a.username
        elif not lead.username and self._s.customer.username:
            lead.username = "@" + self._s.customer.username.lstrip("@")
        typed = a.phone or a.email or a.username
        if typed:
            lead.contact = lead.phone or lead.email or lead.username
            self._event("contact_left")
        if a.card_number:
            self._event("card_number_typed")

    def _reply_request(self, msg: IncomingMessage, a: TurnAnalysis) -> ReplyRequest:
        s = self._s
        profile = a.profile
        return ReplyRequest(
            lead_id=s.lead_id,
            text=msg.text if msg.kind == "text" or msg.spoken else f"[{msg.kind}] {msg.text}".strip(),
            language=s.language, intents=a.intents, stage=s.stage, matches=a.matches,
            alternatives=a.alternatives, cart=s.cart, unknown_item=a.unknown_item,
            history=s.transcript[-8:-1], summary=s.summary, customer_name=s.lead.name,
            has_contact=bool(s.lead.contact), profile=profile,
            push_cta=policy.should_push(max(profile.aggressiveness, 0.9), s.turns),
            push_upsell=policy.should_push(profile.aggressiveness, s.turns, salt=1),
            offered_sku=s.offered_sku, needs_human=a.needs_human, requested=a.requested,
            quantity_asked=a.quantity,
        )

    # ---- reply: rules, or the model guarded by the catalog --------------------------------------

    async def _reply(self, req: ReplyRequest) -> list[str]:
        if self._s.opted_out and not set(req.intents) & (policy.BUYING_INTENTS | {"opt_out"}):
            req.intents = [*req.intents, "opt_out"]  # opted out and not buying: a goodbye, never a push
        if self._brain.provider == "rules" or (self._s.opted_out and "opt_out" in req.intents):
            verdict = await self._rules(req)
            return [verdict.text]
        task = asyncio.ensure_future(self._model_reply(req))
        deadline = self._s.timers.reply_deadline_seconds
        replies: list[str] = []
        try:
            await workflow.wait_condition(task.done, timeout=deadline, timeout_summary="reply deadline")
        except TimeoutError:
            holding = await self._compose("holding")
            replies.append(holding.text)
            await self._deliver(holding.text, "holding")
            self._escalate("reply_deadline", f"no reply within {deadline:g}s")
        verdict = await task
        replies.append(verdict.text)
        return replies

    async def _model_reply(self, req: ReplyRequest) -> GuardVerdict:
        problems: list[str] = []
        for attempt in range(2):
            attempt_req = req.model_copy(update={"attempt": attempt,
                                                 "repair_hint": ", ".join(problems) if problems else None})
            try:
                draft: Draft = await workflow.execute_activity(
                    "generate_reply", attempt_req, result_type=Draft,
                    start_to_close_timeout=timedelta(seconds=self._brain.timeout_seconds),
                    retry_policy=RetryPolicy(maximum_attempts=max(self._brain.max_attempts, 1),
                                             initial_interval=timedelta(milliseconds=500),
                                             non_retryable_error_types=["LLMConfigError"]),
                    summary=f"reply: «{policy.clip(req.text, 60)}»")
            except ActivityError as err:
                workflow.logger.warning("model failed for %s: %s", self._s.lead_id, err.cause or err)
                self._escalate("llm_failure", str(err.cause or err)[:200])
                self._event(rev.FAILOVER, reason="model_error", provider=self._inp.llm_provider)
                return await self._rules(req)
            verdict: GuardVerdict = await workflow.execute_local_activity(
                "check_reply", CheckRequest(draft=draft, request=attempt_req), result_type=GuardVerdict,
                start_to_close_timeout=LOCAL, retry_policy=LOCAL_RETRY, summary="guard: facts, secrets, next step")
            self._event(rev.MODEL_CALL, ms=f"{draft.latency_ms:.0f}", tokens_in=str(draft.tokens_in),
                        tokens_out=str(draft.tokens_out), provider=draft.provider)
            if verdict.ok:
                self._event(rev.GUARD, verdict="passed" if attempt == 0 else "repaired")
                self._model_read(draft, req)
                return self._count_cta(verdict)
            problems = verdict.problems
            self._event("guard_rejected", attempt=str(attempt), problems=",".join(problems)[:400])
        self._event(rev.GUARD, verdict="replaced")
        return await self._rules(req)

    def _model_read(self, draft: Draft, req: ReplyRequest) -> None:
        """The model read the message too: escalate or capture when it saw what the reader missed."""
        s, reading = self._s, draft.reading
        if reading is None:
            return
        new = set(reading.intents) - set(req.intents)
        reason = policy.escalation_reason(new, unknown_item=None)
        if reason and not any(e.reason == reason for e in self._turn_escalations):
            self._escalate(reason, "model: " + policy.clip(req.text, 100))
        if "opt_out" in new:
            self._opt_out("customer")
        if new & {"buy", "checkout"} and not s.lead.captured:
            s.lead.captured = True
            self._event("lead_captured", by="model")
        if (reading.phone or reading.email) and not s.lead.contact:
            s.lead.phone, s.lead.email = s.lead.phone or reading.phone, s.lead.email or reading.email
            s.lead.contact = s.lead.phone or s.lead.email
            self._event("contact_left", by="model")

    async def _rules(self, req: ReplyRequest) -> GuardVerdict:
        try:
            verdict: GuardVerdict = await workflow.execute_local_activity(
                "rules_reply", req, result_type=GuardVerdict, start_to_close_timeout=LOCAL,
                retry_policy=LOCAL_RETRY, summary=f"reply (rules): «{policy.clip(req.text, 60)}»")
        except FailureError as err:  # the last line: a fact-free holding reply and a human
            self._escalate("system_error", str(err.cause or err)[:200])
            verdict = GuardVerdict(ok=True, text=SAFE_REPLY["en" if req.language == "en" else "ru"])
        return self._count_cta(verdict)

    def _count_cta(self, verdict: GuardVerdict) -> GuardVerdict:
        self._s.offered_sku = verdict.offered_sku
        text = verdict.text.rstrip()
        if text.endswith("?") or verdict.added_cta or "?" in text[-120:]:
            self._s.replies_with_cta += 1
        return verdict

    async def _compose(self, kind: str, cart_override: list[CartLine] | None = None,
                       **extra: object) -> ComposeResult:
        s = self._s
        cart = [c.model_copy(update={"qty": c.qty or 1}) for c in cart_override] if cart_override else s.cart
        req = ComposeRequest(kind=kind, lead_id=s.lead_id, language=s.language, profile_name=s.profile_name,
                             chat_id=s.chat_id, customer_name=s.lead.name, cart=cart, last_skus=s.last_skus,
                             **extra)
        try:
            return await workflow.execute_local_activity(
                "compose_message", req, result_type=ComposeResult, start_to_close_timeout=LOCAL,
                retry_policy=LOCAL_RETRY, summary=f"compose: {kind}")
        except FailureError as err:
            workflow.logger.error("compose %s failed for %s: %s", kind, s.lead_id, err.cause or err)
            return ComposeResult(text=SAFE_REPLY["en" if s.language == "en" else "ru"])

    # ---- delivery -----------------------------------------------------------------------------

    async def _deliver(self, text: str, kind: str, *, bot_initiated: bool = False) -> None:
        """Send through the channel gateway when there is one; synchronous channels read `outbox`."""
        s = self._s
        s.out_seq += 1
        if self._inp.outbound_queue is None:
            if bot_initiated or kind in ("followup", "holding", "campaign", "renotify_customer"):
                s.outbox = [*s.outbox, TranscriptEntry(role=kind, text=text, at=workflow.now())][-20:]
            return
        if s.unreachable:
            return
        out = OutboundMessage(lead_id=s.lead_id, channel=s.channel, chat_id=s.chat_id, customer=s.customer,
                              key=f"{s.lead_id}:out:{s.out_seq}", text=text, kind=kind)
        try:
            result: SendResult = await workflow.execute_activity(
                "channel_send", out, result_type=SendResult, task_queue=self._inp.outbound_queue,
                start_to_close_timeout=timedelta(seconds=60), retry_policy=SEND_RETRY,
                summary=f"send {kind}: «{policy.clip(text, 50)}»")
        except ActivityError as err:
            self._escalate("send_failed", str(err.cause or err)[:200])
            return
        if result.unreachable:
            s.unreachable = True
            s.lead.status = LeadStatus.UNREACHABLE
            self._event("unreachable", reason=result.reason or "")

    # ---- escalation, opt-out, follow-ups ------------------------------------------------------

    def _escalate(self, reason: str, detail: str = "") -> None:
        s = self._s
        esc = Escalation(reason=reason, detail=detail, at=workflow.now())
        s.escalations = [*s.escalations, esc][-50:]
        self._turn_escalations.append(esc)
        if s.mode == Mode.HUMAN:
            return
        s.escalated = True
        s.renotify_due_at = workflow.now() + timedelta(seconds=s.timers.escalation_renotify_seconds)
        self._event("escalation", reason=reason, detail=detail[:200])
        self._queue_card(reason)

    def _opt_out(self, reason: str) -> None:
        s = self._s
        if not s.opted_out:
            s.opted_out = True
            s.lead.status = LeadStatus.OPTED_OUT
            s.followup_due_at = None
            self._event("opt_out", reason=reason)
            self._event(rev.REFUSAL, kind="opt_out", reason=reason)

    def _schedule_followup(self) -> None:
        s = self._s
        blocked = (s.opted_out or s.unreachable or s.mode == Mode.HUMAN
                   or s.followups_sent >= s.timers.max_followups
                   or s.lead.status in (LeadStatus.WON, LeadStatus.LOST, LeadStatus.CHECKOUT)
                   or not (s.lead.captured or s.cart))
        if blocked:
            s.followup_due_at = None
            return
        delay = s.timers.abandoned_cart_after_seconds if s.cart else s.timers.followup_after_seconds
        s.followup_due_at = workflow.now() + timedelta(seconds=delay)

    def _next_deadline(self) -> datetime | None:
        due = [d for d in (self._s.followup_due_at, self._s.renotify_due_at) if d is not None]
        return min(due) if due else None

    async def _fire_due_timers(self) -> None:
        async with self._lock:
            s, now = self._s, workflow.now()
            if s.renotify_due_at and s.renotify_due_at <= now:
                s.renotify_due_at = None
                if s.escalated and s.mode == Mode.BOT:
                    self._queue_card(s.escalations[-1].reason if s.escalations else "escalation", renotify=True)
                    notice = await self._compose("renotify_customer")
                    self._transcript("bot", notice.text)
                    await self._deliver(notice.text, "renotify_customer", bot_initiated=True)
                    self._event("renotify")
            if s.followup_due_at and s.followup_due_at <= now:
                s.followup_due_at = None
                blocked = s.opted_out or s.unreachable or s.mode == Mode.HUMAN or s.lead.status in (
                    LeadStatus.WON, LeadStatus.LOST, LeadStatus.CHECKOUT)
                if not blocked and await self._proactive_allow_followup():  # caps, quiet hours: may move it
                    kind = "abandoned_cart" if s.cart else "followup"
                    text = (await self._compose(kind)).text
                    s.followups_sent += 1
                    self._transcript("bot", text)
                    await self._deliver(text, "followup", bot_initiated=True)
                    self._event(rev.FOLLOWUP_SENT, kind=kind, n=str(s.followups_sent))
                    s.last_bot_at = now
                    self._schedule_followup()
                elif blocked:  # (caps and quiet hours record their own decision)
                    self._event(rev.PROACTIVE_SUPPRESSED, kind="followup", reason=rev.suppression_reason(
                        opted_out=s.opted_out, unreachable=s.unreachable, human=s.mode == Mode.HUMAN,
                        status=s.lead.status.value))
            self._after_change(wake=False)

    # ---- state bookkeeping, search attributes, CRM batches ------------------------------------

    async def _refresh_cart_value(self) -> None:
        """The lead's items and amount are its cart's (or, before it is confirmed, the order it named
        with quantities); items only asked about are `interest` and never give the lead an amount."""
        s = self._s
        if not s.cart and s.lead.status == LeadStatus.LOST:
            return  # a cancelled order keeps what it was about, for the manager's report
        if not (s.cart or s.pending):
            s.lead.items, s.lead.amount, s.lead.currency = [], None, None
            return
        res = await self._compose("card", cart_override=None if s.cart else s.pending)
        s.lead.items = res.cart_lines
        s.lead.amount = res.cart_value if res.cart_lines else None
        s.lead.currency = res.currency

    def _note_interest(self, a: TurnAnalysis) -> None:
        """Remember the names of the items asked about, for the operator's card («Интересовался»)."""
        facts = {m.sku: m.name for m in [*a.matches, *a.alternatives]}
        fresh = [name for sku in policy.asked_skus(a) if (name := facts.get(sku))]
        if fresh:
            s = self._s
            s.lead.interest = [*dict.fromkeys([*fresh, *s.lead.interest])][:5]

    def _transcript(self, role: str, text: str, at: datetime | None = None) -> None:
        s = self._s
        entry = TranscriptEntry(role=role, text=text, at=at or workflow.now())
        s.transcript.append(entry)
        limit = max(self._inp.transcript_limit, 4)
        if len(s.transcript) > limit:
            dropped = s.transcript[: len(s.transcript) - limit]
            s.transcript = s.transcript[-limit:]
            older = " | ".join(f"{e.role}: {policy.clip(e.text, 60)}" for e in dropped)
            s.summary = policy.clip(f"{s.summary} | {older}" if s.summary else older, 1200)
        s.log_seq += 1
        self._batch().messages.append(MessageRecord(key=f"{s.lead_id}:m:{s.log_seq}", lead_id=s.lead_id,
                                                    role=role, text=text, at=entry.at))

    def _event(self, event_kind: str, /, **data: str) -> None:
        s = self._s
        s.log_seq += 1
        self._batch().events.append(EventRecord(key=f"{s.lead_id}:e:{s.log_seq}", lead_id=s.lead_id, kind=event_kind,
                                                data={k: str(v) for k, v in data.items()}, at=workflow.now()))

    def _batch(self) -> PersistBatch:
        if not (self._inp.persist and self._inp.sinks):  # nothing to write to: a throwaway batch
            return PersistBatch()
        if not self._batches:
            self._batches.append(PersistBatch())
        return self._batches[-1]

    def _after_change(self, wake: bool = True) -> None:
        s = self._s
        status = policy.next_status(s)
        if status != s.lead.status:
            self._event("status", old=s.lead.status.value, new=status.value)
            s.lead.status = status
        if not self._inp.persist:
            self._batches = []
        elif self._batches:
            self._batches[-1].lead = self._lead_record() if s.lead.captured else None
        self._upsert_search_attributes()
        self._proactive_after_change()
        self._set_details()
        if wake:
            self._wake = True

    def _lead_record(self) -> LeadRecord:
        s = self._s
        link = None
        if s.channel == "tg":
            link = (f"https://t.me/{s.customer.username}" if s.customer.username
                    else f"tg://user?id={s.customer.user_id or s.chat_id}")
        elif s.calls and s.calls[-1].recording_path:  # a phone lead: the last call's recording
            link = s.calls[-1].recording_path
        ui = f"{self._inp.ui_base_url}/namespaces/{self._inp.namespace}/workflows/{s.lead_id}"
        return LeadRecord(
            lead_id=s.lead_id, workflow_id=workflow.info().workflow_id, channel=s.channel, chat_id=s.chat_id,
            name=s.lead.name, contact=s.lead.contact, phone=s.lead.phone, email=s.lead.email,
            username=s.lead.username, request=s.lead.request, items=s.lead.items, amount=s.lead.amount,
            currency=s.lead.currency, status=s.lead.status, stage=s.stage, escalated=s.escalated,
            escalation_reason=s.escalations[-1].reason if s.escalations else None, dialogue_link=link,
            variant=s.proactive.variant or None,
            ui_link=ui, created_at=s.created_at, updated_at=workflow.now())

    async def _persist_loop(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._batches))
            pending, self._batches = self._batches, []
            self._persisting = True
            try:
                merged = PersistBatch(
                    lead=next((b.lead for b in reversed(pending) if b.lead is not None), None),
                    messages=[m for b in pending for m in b.messages],
                    events=[e for b in pending for e in b.events])
                if merged.lead is None and not merged.messages and not merged.events:
                    continue
                await asyncio.gather(*(self._persist(merged.model_copy(update={"sink": sink}))
                                       for sink in self._inp.sinks))
            finally:
                self._persisting = False

    async def _persist(self, batch: PersistBatch) -> None:
        try:
            await workflow.execute_activity(
                "persist_lead", batch, start_to_close_timeout=timedelta(seconds=30), retry_policy=PERSIST_RETRY,
                summary=f"crm {batch.sink}: {len(batch.messages)} msg, {len(batch.events)} ev")
        except ActivityError as err:  # only non-retryable configuration errors end up here
            workflow.logger.error("CRM sink %s rejected a batch: %s", batch.sink, err.cause or err)

    def _queue_card(self, reason: str, *, renotify: bool = False, forwarded_text: str | None = None) -> None:
        if self._inp.operators_queue is None:
            return
        s = self._s
        s.out_seq += 1
        self._cards.append(OperatorCard(
            lead_id=s.lead_id, key=f"{s.lead_id}:card:{s.out_seq}", reason=reason, customer=s.customer,
            chat_id=s.chat_id, channel=s.channel, last_messages=s.transcript[-6:], cart=s.lead.items,
            cart_total=s.lead.amount, currency=s.lead.currency, cart_confirmed=bool(s.cart),
            interest=[n for n in s.lead.interest if not any(line.startswith(n) for line in s.lead.items)],
            ui_link=f"{self._inp.ui_base_url}/namespaces/{self._inp.namespace}/workflows/{s.lead_id}",
            renotify=renotify, forwarded_text=forwarded_text))

    async def _card_loop(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._cards))
            card = self._cards.pop(0)
            self._carding = True
            try:
                await workflow.execute_activity(
                    "notify_operators", card, result_type=SendResult, task_queue=self._inp.operators_queue,
                    start_to_close_timeout=timedelta(seconds=60), retry_policy=SEND_RETRY,
                    summary=f"operators: {card.reason}")
            except ActivityError as err:
                workflow.logger.error("operator card for %s failed: %s", self._s.lead_id, err.cause or err)
            finally:
                self._carding = False

    def _upsert_search_attributes(self) -> None:
        s = self._s
        value = float(s.lead.amount) if s.lead.amount is not None and s.cart else 0.0
        snapshot = (s.stage.value, s.lead.status.value, s.channel, s.escalated, value, s.mode.value,
                    s.last_message_at)
        if snapshot == self._last_sa:
            return
        self._last_sa = snapshot
        updates = [sa.LEAD_STAGE.value_set(s.stage.value), sa.LEAD_STATUS.value_set(s.lead.status.value),
                   sa.CHANNEL.value_set(s.channel), sa.ESCALATED.value_set(s.escalated),
                   sa.CART_VALUE.value_set(value), sa.LEAD_MODE.value_set(s.mode.value)]
        if s.last_message_at is not None:
            updates.append(sa.LAST_MESSAGE_AT.value_set(s.last_message_at))
        workflow.upsert_search_attributes(updates)

    def _set_details(self) -> None:
        s = self._s
        cart = ", ".join(f"{c.sku}×{c.qty}" for c in s.cart) or "empty"
        amount = f" = {s.lead.amount} {s.lead.currency or ''}".rstrip() if s.cart and s.lead.amount else ""
        flags = " · ESCALATED" if s.escalated else ""
        flags += " · opted out" if s.opted_out else ""
        flags += " · unreachable" if s.unreachable else ""
        who = f" ({s.operator})" if s.operator else ""
        workflow.set_current_details(
            f"**stage:** {s.stage.value} · **status:** {s.lead.status.value} · **mode:** {s.mode.value}{who}\n"
            f"**cart:** {cart}{amount}{flags}\n**turns:** {s.turns} · **lang:** {s.language}")

    def _result(self, replies: list[str], *, duplicate: bool = False, silent: bool = False) -> TurnResult:
        s = self._s
        fresh = self._turn_escalations[0] if self._turn_escalations else None
        return TurnResult(replies=replies, escalated=fresh is not None,
                          escalation_reason=fresh.reason if fresh else None,
                          stage=s.stage, status=s.lead.status, mode=s.mode, language=s.language,
                          duplicate=duplicate, silent=silent)

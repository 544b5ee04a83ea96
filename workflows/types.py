"""Records that cross the workflow boundary: inputs, update/signal payloads, results, state.

All are pydantic models (see `pydantic_data_converter`) with defaults on every field added
later, so running workflows keep decoding old payloads.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from workflows.proactive_types import ProactiveState
from workflows.profile import Profile, Timers


class Stage(StrEnum):
    GREETING = "greeting"
    DISCOVERY = "discovery"
    OFFER = "offer"
    OBJECTIONS = "objections"
    CLOSING = "closing"
    ORDER = "order"


class LeadStatus(StrEnum):
    NEW = "new"
    QUALIFIED = "qualified"
    CART = "cart"
    CHECKOUT = "checkout"
    WON = "won"
    LOST = "lost"
    ESCALATED = "escalated"
    UNREACHABLE = "unreachable"
    OPTED_OUT = "opted_out"


class Mode(StrEnum):
    BOT = "bot"
    HUMAN = "human"


class Customer(BaseModel):
    """Who the lead is, as the channel knows them. Telegram fills user_id/access_hash."""

    name: str | None = None
    username: str | None = None
    user_id: int | None = None
    access_hash: int | None = None
    phone: str | None = None
    is_bot: bool = False


class CartLine(BaseModel):
    sku: str
    qty: int = 1


class LeadFields(BaseModel):
    """The CRM view of the lead, filled from the first message on."""

    name: str | None = None
    contact: str | None = None
    phone: str | None = None
    email: str | None = None
    username: str | None = None
    request: str | None = None
    items: list[str] = Field(default_factory=list)  # the cart's lines (or the order named, not yet confirmed)
    amount: Decimal | None = None  # the cart's total; None without a cart — never the price of an item asked about
    currency: str | None = None
    interest: list[str] = Field(default_factory=list)  # items the customer asked about, most recent first
    status: LeadStatus = LeadStatus.NEW
    captured: bool = False  # buying intent seen: the lead exists for the CRM


class Escalation(BaseModel):
    reason: str
    detail: str = ""
    at: datetime | None = None
    notified: bool = False


class TranscriptEntry(BaseModel):
    role: str  # customer | bot | operator | system
    text: str
    at: datetime | None = None


class CallRecord(BaseModel):
    """A phone or browser call of the lead (voice gateway): on the lead and in the CRM's `calls` table."""

    call_id: str
    lead_id: str = ""
    direction: str = "inbound"  # inbound | outbound
    phone: str | None = None
    transport: str = "sip"  # sip | webrtc
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float = 0.0
    end_reason: str = ""  # caller | bot | silence | error | no_answer
    phrases: int = 0
    recording_path: str | None = None
    transcript: str = ""


class CallRequest(BaseModel):
    """Signal `request_call` → activity `place_call` on the voice gateway's queue: call the customer."""

    phone: str
    reason: str = "callback"  # callback | campaign
    task_queue: str = "voice"
    language: str | None = None


class CallResult(BaseModel):
    ok: bool = True
    call_id: str = ""
    reason: str | None = None


class LeadState(BaseModel):
    """Everything a lead workflow knows; carried whole through continue-as-new."""

    lead_id: str
    channel: str
    chat_id: str
    profile_name: str | None = None
    customer: Customer = Field(default_factory=Customer)
    language: str = "ru"
    stage: Stage = Stage.GREETING
    mode: Mode = Mode.BOT
    operator: str | None = None
    cart: list[CartLine] = Field(default_factory=list)
    lead: LeadFields = Field(default_factory=LeadFields)
    last_skus: list[str] = Field(default_factory=list)
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    summary: str = ""
    escalations: list[Escalation] = Field(default_factory=list)
    escalated: bool = False
    opted_out: bool = False
    unreachable: bool = False
    turns: int = 0
    bot_replies: int = 0
    replies_with_cta: int = 0
    upsells_offered: list[str] = Field(default_factory=list)
    offered_sku: str | None = None
    pending_qty: int | None = None  # a quantity named before the item went to the cart
    pending: list[CartLine] = Field(default_factory=list)  # items named (with quantities) but not yet in the cart
    followups_sent: int = 0
    created_at: datetime | None = None
    last_message_at: datetime | None = None
    last_bot_at: datetime | None = None
    seen_message_ids: list[str] = Field(default_factory=list)
    outbox: list[TranscriptEntry] = Field(default_factory=list)  # bot-initiated messages (follow-ups, operators)
    out_seq: int = 0  # monotonic counter: idempotency keys of outgoing messages
    log_seq: int = 0  # monotonic counter: keys of dialogue-log lines and events
    timers: Timers = Field(default_factory=Timers)  # the profile's timers, kept for follow-ups after restarts
    followup_due_at: datetime | None = None
    renotify_due_at: datetime | None = None
    proactive: ProactiveState = Field(default_factory=ProactiveState)  # no-spam bookkeeping, A/B arm
    calls: list[CallRecord] = Field(default_factory=list)  # voice calls, most recent last (bounded)


class LeadInput(BaseModel):
    """Start (and continue-as-new) argument of `LeadWorkflow`."""

    state: LeadState
    task_queue: str = "neuroseller"
    outbound_queue: str | None = None  # task queue of the channel gateway that sends (e.g. "telegram")
    operators_queue: str | None = None  # where escalation cards are posted; None = record only
    llm_provider: str = "rules"
    llm_timeout_seconds: float = 30.0
    llm_max_attempts: int = 2
    continue_as_new_after_turns: int = 200
    transcript_limit: int = 40
    persist: bool = True  # write leads/messages to the CRM sinks after each turn
    sinks: list[str] = Field(default_factory=lambda: ["postgres"])
    ui_base_url: str = "http://localhost:8233"
    namespace: str = "default"


class IncomingMessage(BaseModel):
    """Update `message`: one customer message."""

    text: str = ""
    message_id: str | None = None  # channel's id; the same id twice is handled once
    kind: str = "text"  # text | edited | sticker | photo | voice (a phrase of a call) | document | other
    customer: Customer | None = None
    sent_at: datetime | None = None
    spoken: bool = False  # a phrase of a call: the voice gateway speaks the reply itself, nothing is sent


class TurnResult(BaseModel):
    """What the customer gets back, plus the state changes a channel may show."""

    replies: list[str] = Field(default_factory=list)
    escalated: bool = False
    escalation_reason: str | None = None
    stage: Stage = Stage.GREETING
    status: LeadStatus = LeadStatus.NEW
    mode: Mode = Mode.BOT
    language: str = "ru"
    duplicate: bool = False
    silent: bool = False  # a human owns the chat, or the customer opted out: nothing was said


class OperatorAction(BaseModel):
    """Signals `operator_takeover` / `operator_release`."""

    operator: str = "operator"
    note: str = ""


class OperatorMessage(BaseModel):
    """Signal `operator_message`: text an operator sends to the customer through the shop's account."""

    operator: str = "operator"
    text: str
    message_id: str | None = None


class CartEvent(BaseModel):
    """Signal `cart_event` from a shop front-end or an operator."""

    action: str  # add | remove | clear | checkout | paid
    sku: str | None = None
    qty: int = 1


class CampaignOffer(BaseModel):
    """Signal `campaign_offer`: a scheduled campaign's message for this lead."""

    campaign_id: str
    text_ru: str = ""
    text_en: str = ""
    skus: list[str] = Field(default_factory=list)
    request_id: str | None = None  # dedupe key: the lead acts on it once (default: the campaign id)


class OptOut(BaseModel):
    reason: str = "customer"


# ---- activity payloads -------------------------------------------------------------------------


class ItemFact(BaseModel):
    """A catalog item as facts the reply may state (copied from the catalog, never from the model)."""

    sku: str
    name: str
    price: Decimal
    promo_price: Decimal | None = None
    currency: str = "RUB"
    stock: int = 0
    category: str = ""
    description: str = ""
    upsell: list[str] = Field(default_factory=list)
    confidence: float = 1.0


class BrainConfig(BaseModel):
    """How the worker that analysed the turn replies: read at run time, never frozen into a lead's input."""

    provider: str = "rules"
    timeout_seconds: float = 30.0
    max_attempts: int = 2


class ModelReading(BaseModel):
    """The model's own reading of the message, returned with its reply (intents of the same closed list)."""

    intents: list[str] = Field(default_factory=list)
    items: list[str] = Field(default_factory=list)
    phone: str | None = None  # validated and normalised by the reader's entities before it gets here
    email: str | None = None


class TurnAnalysis(BaseModel):
    """Local activity `analyze_turn`: what the message is about, with the catalog's facts."""

    language: str = "ru"
    intents: list[str] = Field(default_factory=list)
    matches: list[ItemFact] = Field(default_factory=list)  # ranked, confident matches only
    unknown_item: str | None = None  # a product asked about that the catalog does not have
    alternatives: list[ItemFact] = Field(default_factory=list)  # in-stock alternatives / upsells
    quantity: int | None = None
    profile: Profile = Field(default_factory=Profile)
    catalog_version: str = ""
    masked_text: str = ""  # the message with PII masked, for logs and the transcript
    phone: str | None = None  # E.164
    email: str | None = None
    username: str | None = None  # @handle the customer typed
    customer_name: str | None = None  # "меня зовут Анна" / "I'm John"
    card_number: bool = False  # a Luhn-valid card number was typed (masked; the bot warns)
    requested: list[CartLine] = Field(default_factory=list)  # items named for the cart, one per part
    needs_human: str | None = None  # a question only a person can answer (hours, warranty, attribute...)
    brain: BrainConfig | None = None  # the worker's model configuration; None in histories before it existed


class ReplyRequest(BaseModel):
    """Input of reply generation (model or rules): the state snapshot and the facts it may use."""

    lead_id: str
    text: str
    language: str = "ru"
    intents: list[str] = Field(default_factory=list)
    stage: Stage = Stage.GREETING
    matches: list[ItemFact] = Field(default_factory=list)
    alternatives: list[ItemFact] = Field(default_factory=list)
    cart: list[CartLine] = Field(default_factory=list)
    cart_facts: list[ItemFact] = Field(default_factory=list)
    unknown_item: str | None = None
    history: list[TranscriptEntry] = Field(default_factory=list)
    summary: str = ""
    customer_name: str | None = None
    has_contact: bool = False
    profile: Profile = Field(default_factory=Profile)
    push_cta: bool = True
    push_upsell: bool = False
    repair_hint: str | None = None  # set on the one regeneration after a failed guard check
    cart_added: list[CartLine] = Field(default_factory=list)  # lines added or changed by this turn
    cart_skipped: list[str] = Field(default_factory=list)  # SKUs asked for the cart but out of stock
    offered_sku: str | None = None  # what the last bot reply proposed («Подойдёт?»)
    needs_human: str | None = None
    requested: list[CartLine] = Field(default_factory=list)
    quantity_asked: int | None = None
    attempt: int = 0


class Draft(BaseModel):
    """A reply before the guard: model text with fact slots like `{price:SKU}`."""

    text: str
    provider: str = "rules"
    skus: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0  # the model call as the activity measured it (report: model_call)
    tokens_in: int = 0  # as the provider reported them; 0 when it does not say
    tokens_out: int = 0
    reading: ModelReading | None = None


class GuardVerdict(BaseModel):
    """Local activity `check_reply`: the rendered reply, or why it cannot be sent."""

    ok: bool
    text: str = ""
    problems: list[str] = Field(default_factory=list)
    added_cta: bool = False
    offered_sku: str | None = None  # the item this reply proposes, for a following «да»


class OutboundMessage(BaseModel):
    """Activity `channel_send` (runs on the channel gateway's task queue, e.g. `telegram`).

    `key` is unique per outgoing message of a lead; a retried send with a key already sent must
    not send again.
    """

    lead_id: str
    channel: str
    chat_id: str
    customer: Customer = Field(default_factory=Customer)
    key: str
    text: str
    kind: str = "reply"  # reply | followup | operator | holding | campaign | greeting


class SendResult(BaseModel):
    ok: bool = True
    message_ids: list[int] = Field(default_factory=list)
    unreachable: bool = False
    reason: str | None = None


class OperatorCard(BaseModel):
    """Activity `notify_operators` (gateway queue): an escalation card for the operators' chat."""

    lead_id: str
    key: str
    reason: str
    customer: Customer = Field(default_factory=Customer)
    chat_id: str = ""
    channel: str = ""
    last_messages: list[TranscriptEntry] = Field(default_factory=list)
    cart: list[str] = Field(default_factory=list)  # rendered lines "Палатка X × 1 = 5 990 ₽"
    cart_total: Decimal | None = None
    currency: str | None = None
    cart_confirmed: bool = True  # False: the order the customer named, not yet confirmed into the cart
    interest: list[str] = Field(default_factory=list)  # items discussed ("интересовался"), not in the cart
    ui_link: str = ""
    renotify: bool = False
    forwarded_text: str | None = None  # set when relaying a customer message while a human owns the chat


# ---- CRM persistence (issue: leads in the CRM) --------------------------------------------------


class LeadRecord(BaseModel):
    """The lead as the CRM stores it; upserted by `lead_id`."""

    lead_id: str
    workflow_id: str
    channel: str
    chat_id: str
    name: str | None = None
    contact: str | None = None
    phone: str | None = None
    email: str | None = None
    username: str | None = None
    request: str | None = None
    items: list[str] = Field(default_factory=list)
    amount: Decimal | None = None
    currency: str | None = None
    status: LeadStatus = LeadStatus.NEW
    stage: Stage = Stage.GREETING
    escalated: bool = False
    escalation_reason: str | None = None
    variant: str | None = None  # A/B arm `profile:arm`
    dialogue_link: str | None = None
    ui_link: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class MessageRecord(BaseModel):
    """One line of the dialogue log; `key` is unique so a retried write inserts once."""

    key: str
    lead_id: str
    role: str
    text: str  # PII already masked
    at: datetime | None = None


class EventRecord(BaseModel):
    """A metrics event (escalation, status change, follow-up...); `key` unique."""

    key: str
    lead_id: str
    kind: str
    data: dict[str, str] = Field(default_factory=dict)
    at: datetime | None = None


class PersistBatch(BaseModel):
    """Activity `persist_lead`: what one turn changed. `lead` is None before buying intent."""

    sink: str = "postgres"
    lead: LeadRecord | None = None
    messages: list[MessageRecord] = Field(default_factory=list)
    events: list[EventRecord] = Field(default_factory=list)


# ---- local activity payloads --------------------------------------------------------------------


class AnalyzeRequest(BaseModel):
    lead_id: str
    chat_id: str
    profile_name: str | None = None
    text: str
    kind: str = "text"
    language: str | None = "ru"  # None on a lead's first message: the profile's default applies
    last_skus: list[str] = Field(default_factory=list)


class CheckRequest(BaseModel):
    draft: Draft
    request: ReplyRequest


class ComposeRequest(BaseModel):
    """Local activity `compose_message`: bot-initiated texts rendered from the catalog."""

    kind: str  # followup | abandoned_cart | holding | renotify_customer | card | campaign
    lead_id: str = ""
    language: str = "ru"
    profile_name: str | None = None
    chat_id: str = ""
    customer_name: str | None = None
    cart: list[CartLine] = Field(default_factory=list)
    last_skus: list[str] = Field(default_factory=list)
    text_ru: str = ""
    text_en: str = ""


class ComposeResult(BaseModel):
    text: str = ""
    cart_lines: list[str] = Field(default_factory=list)
    cart_value: Decimal = Decimal(0)
    currency: str | None = None

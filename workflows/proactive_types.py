"""Records of proactive selling that cross boundaries: requests to a lead, outcomes, the lead's own
no-spam bookkeeping, shop-site events, campaign specs and results.

Defaults on every field, as in `workflows/types.py`, so running workflows decode old payloads.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workflows.nospam import Decision, LeadFacts

DONE_LIMIT = 300  # dedupe keys a lead remembers (campaign runs, catalog items)
LOG_LIMIT = 50


class ProactiveRequest(BaseModel):
    """Update `proactive` (and the `campaign_offer` signal): one message the lead did not ask for.

    `key` makes it idempotent: a lead acts on a key once, whoever retries (a campaign's activity,
    a restarted worker, a second worker noticing the same catalog reload).
    """

    key: str
    kind: str = "campaign"  # campaign | catalog | subscriber
    source: str = ""  # campaign name, or the catalog trigger (`back_in_stock:TENT-2P`)
    text_ru: str = ""  # may hold fact slots ({price:SKU}) that the catalog fills at send time
    text_en: str = ""
    skus: list[str] = Field(default_factory=list)


class ProactiveOutcome(BaseModel):
    lead_id: str = ""
    action: str = "suppressed"  # sent | deferred | suppressed | duplicate
    reason: str = ""
    until: datetime | None = None
    status: str = ""  # the lead's status when it was reached (conversion = a later, further status)


class PendingProactive(BaseModel):
    request: ProactiveRequest
    due: datetime


class ProactiveLogEntry(BaseModel):
    key: str
    kind: str
    action: str
    reason: str = ""
    at: datetime | None = None


class ProactiveState(BaseModel):
    """A lead's proactive bookkeeping, part of `LeadState` (so it survives continue-as-new)."""

    done: dict[str, str] = Field(default_factory=dict)  # key -> first action taken
    sent_at: list[datetime] = Field(default_factory=list)  # proactive sends within the weekly window
    pending: list[PendingProactive] = Field(default_factory=list)  # deferred to the end of quiet hours
    log: list[ProactiveLogEntry] = Field(default_factory=list)  # the last decisions, for `state` and tests
    variant: str = ""  # A/B arm, `profile:arm`, kept once assigned
    opted_in: bool = False  # subscribed on the shop's site with consent: may be written to first
    asked: list[str] = Field(default_factory=list)  # SKUs the customer asked about or viewed, newest first
    watched: list[str] = Field(default_factory=list)  # asked about or carted: search attribute `WatchedSkus`


class CampaignTemplate(BaseModel):
    """`[templates.NAME]` in a profile: a campaign text with fact slots (`{price:SKU}`), filled at send time."""

    model_config = {"extra": "forbid"}

    ru: str = ""
    en: str = ""


class ShopEvent(BaseModel):
    """Signal `shop_event`: what the shop's site saw (a product view, a new subscriber)."""

    type: str  # view | subscriber
    sku: str | None = None
    consent: bool = False  # subscriber: agreed to messages from the shop


class PlanRequest(BaseModel):
    """Local activity `plan_proactive`: the lead's facts; the worker adds the profile's rules and zone."""

    lead_id: str
    profile_name: str | None = None
    chat_id: str = ""
    phone: str | None = None
    facts: LeadFacts
    now: datetime


class PlanResult(BaseModel):
    decision: Decision
    zone: str = ""
    welcome_ru: str = ""  # the profile's welcome for site subscribers
    welcome_en: str = ""


# ---- campaigns ----------------------------------------------------------------------------------


class Audience(BaseModel):
    """Who gets which message: a visibility query over lead workflows and the request sent to each."""

    query: str
    request: ProactiveRequest


class CampaignSpec(BaseModel):
    """Argument of `CampaignWorkflow` (the schedule's action holds it)."""

    name: str
    audiences: list[Audience] = Field(default_factory=list)
    sends_per_second: float = 1.0
    reply_window_seconds: float = 48 * 3600.0
    batch_size: int = 50
    heartbeat_seconds: float = 30.0


class OfferBatch(BaseModel):
    """Activity `offer_leads`: send one request to each lead; `run_key` makes it exactly-once per lead."""

    lead_ids: list[str]
    request: ProactiveRequest
    sends_per_second: float = 1.0


class LeadProgress(BaseModel):
    """What a lead did after a campaign reached it (activity `measure_leads`)."""

    lead_id: str
    replied: bool = False
    status: str = ""  # now


class MeasureRequest(BaseModel):
    lead_ids: list[str]
    since: datetime


class CampaignResults(BaseModel):
    """Per-run results; `neuroseller campaign results NAME` sums the runs."""

    name: str = ""
    run_id: str = ""
    started_at: datetime | None = None
    targeted: int = 0
    sent: int = 0
    deferred: int = 0
    duplicate: int = 0
    suppressed: dict[str, int] = Field(default_factory=dict)  # reason -> count
    replied: int = 0
    converted: int = 0
    measured: bool = False  # the reply window has passed and replies/conversions are counted
    outcomes: list[ProactiveOutcome] = Field(default_factory=list)

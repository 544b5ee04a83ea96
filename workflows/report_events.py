"""The events and lead fields the sales report reads: one list, shared by the workflow that records
them and the SQL that counts them (`activities/crm/report.py`).

Events land in the `events` table as `kind` + `data` (text values). Every name the report uses is
defined here, so a feature that adds a way to sell (A/B variants, campaigns, a voice channel) only
has to record these kinds and keys to show up in the report; a kind nobody records yet reports zero.
Pure and deterministic: the workflow imports it.
"""

from __future__ import annotations

from datetime import UTC, datetime

# ---- event kinds ---------------------------------------------------------------------------------

REPLY_LATENCY = "reply_latency"  # ms: customer message received (channel's timestamp) → reply handed to the channel
MODEL_CALL = "model_call"  # ms, tokens_in, tokens_out, provider
GUARD = "guard"  # verdict: passed | repaired | replaced (model draft replaced by the rules reply)
FAILOVER = "failover"  # the model failed: the rules brain answered (reason, provider)
ESCALATION = "escalation"  # reason, detail
TAKEOVER = "takeover"  # an operator took an escalated lead: seconds since the escalation, reason
REFUSAL = "refusal"  # kind: no_thanks | opt_out | lost
PROACTIVE_SENT = "proactive_sent"  # a bot-initiated sales message (campaign …): kind, campaign, variant
PROACTIVE_SUPPRESSED = "proactive_suppressed"  # one that was not sent: kind, reason
FOLLOWUP_SENT = "followup_sent"  # kind: followup | abandoned_cart, n

# recorded by the lead workflow before the report existed; the funnel reads them
LEAD_CAPTURED = "lead_captured"  # buying intent seen: the lead exists for the CRM
CONTACT_LEFT = "contact_left"
CART_ADD = "cart_add"
STATUS = "status"  # old, new (a LeadStatus value)
CART_EVENT = "cart_event"  # action: add | remove | clear | checkout | paid | lost (from the shop or an operator)

REFUSAL_KINDS = ("no_thanks", "opt_out", "lost")
GUARD_VERDICTS = ("passed", "repaired", "replaced")

# ---- lead dimensions: a `leads` column when it exists, else the latest event carrying the key ---

DIMENSIONS = ("profile", "variant", "campaign", "channel")


def latency_ms(received: datetime | None, started: datetime, now: datetime) -> str:
    """Milliseconds from the channel's timestamp of the customer message (or the turn's start when the
    channel gave none) to `now`; never negative (a channel clock a little ahead of ours reads as 0)."""
    start = received or started
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return f"{max((now - start).total_seconds() * 1000.0, 0.0):.0f}"


def since_seconds(at: datetime | None, now: datetime) -> str:
    return f"{max((now - at).total_seconds(), 0.0):.0f}" if at else ""


CLOSED_STATUSES = ("won", "lost", "checkout")  # nothing left to remind of: the order is placed or gone


def suppression_reason(*, opted_out: bool, unreachable: bool, human: bool, status: str = "") -> str:
    """Why a proactive message was not sent, in the order that decided it."""
    if opted_out:
        return "opted_out"
    if unreachable:
        return "unreachable"
    if human:
        return "operator"
    return status if status in CLOSED_STATUSES else "other"

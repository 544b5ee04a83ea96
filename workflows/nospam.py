"""No spam, by construction, in one place: may this lead hear from us now, later, or not at all?

Pure: every proactive message (catalog trigger, campaign, shop event follow-up, silence follow-up)
asks `decide` first, in the lead's own workflow. Rolling windows (last 24 h, last 7 days) rather
than calendar days, so a message sent at 23:59 and one at 00:01 count as two in the same day.
Quiet hours are read in the lead's time zone: the profile's, else the phone's country, else the shop's.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
CLOSED_STATUSES = {"won": "won", "lost": "lost", "unreachable": "unreachable", "opted_out": "opted_out"}


class ProactiveRules(BaseModel):
    """Profile section `[proactive]`: how often and when a lead may be written to first."""

    model_config = ConfigDict(extra="forbid")

    max_per_day: int = Field(default=2, ge=0, le=50)
    max_per_week: int = Field(default=5, ge=0, le=200)
    quiet_start: time = time(21, 0)  # local time of the lead; messages due in [start, end) wait
    quiet_end: time = time(9, 0)
    timezone: str | None = None  # IANA name; unset: the phone's country, else SHOP_TIMEZONE
    welcome_ru: str = ""  # sent to a shop-site subscriber who opted in (event `subscriber`), if set
    welcome_en: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value


class Action(StrEnum):
    SEND = "send"
    DEFER = "defer"
    SUPPRESS = "suppress"


class Decision(BaseModel):
    action: Action
    until: datetime | None = None  # DEFER: when to ask again
    reason: str = ""  # SUPPRESS / DEFER: why (counted in reports)


class LeadFacts(BaseModel):
    """What the policy needs to know about the lead, copied from its state."""

    engaged: bool  # wrote first, joined an allowed group, or subscribed on the shop's site
    opted_out: bool = False
    human: bool = False  # an operator took over
    unreachable: bool = False
    status: str = "new"
    sent_at: list[datetime] = Field(default_factory=list)  # earlier proactive sends


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r}") from err


def lead_zone(rules: ProactiveRules, phone: str | None, shop_zone: str) -> str:
    """Profile's zone, else the phone's country when it has one zone, else the shop's (a +7 number spans
    eleven zones: guessing one would be no better than the shop's own)."""
    if rules.timezone:
        return rules.timezone
    if phone:
        import phonenumbers
        from phonenumbers import timezone as phone_zones

        try:
            zones = [z for z in phone_zones.time_zones_for_number(phonenumbers.parse(phone)) if z != "Etc/Unknown"]
        except phonenumbers.NumberParseException:
            zones = []
        if len(zones) == 1:
            return zones[0]
    return shop_zone


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the usual case: 21:00 … 09:00 across midnight


def quiet_until(now: datetime, rules: ProactiveRules, tz: ZoneInfo) -> datetime | None:
    """The end of the quiet period `now` falls in (aware UTC), or None when it is not quiet."""
    local = now.astimezone(tz)
    if not in_quiet_hours(local.timetz().replace(tzinfo=None), rules.quiet_start, rules.quiet_end):
        return None
    morning = datetime.combine(local.date(), rules.quiet_end, tzinfo=tz)
    if morning <= local:
        morning = datetime.combine(local.date() + DAY, rules.quiet_end, tzinfo=tz)
    return morning.astimezone(now.tzinfo)


def decide(facts: LeadFacts, rules: ProactiveRules, tz: ZoneInfo, now: datetime) -> Decision:
    """Send now, wait until the morning, or suppress with a reason. Eligibility, then caps, then the clock."""
    if facts.opted_out:
        return Decision(action=Action.SUPPRESS, reason="opted_out")
    if facts.unreachable:
        return Decision(action=Action.SUPPRESS, reason="unreachable")
    if facts.human:
        return Decision(action=Action.SUPPRESS, reason="takeover")
    if facts.status in CLOSED_STATUSES:
        return Decision(action=Action.SUPPRESS, reason=CLOSED_STATUSES[facts.status])
    if not facts.engaged:
        return Decision(action=Action.SUPPRESS, reason="not_engaged")
    if sum(1 for at in facts.sent_at if now - at < DAY) >= rules.max_per_day:
        return Decision(action=Action.SUPPRESS, reason="daily_cap")
    if sum(1 for at in facts.sent_at if now - at < WEEK) >= rules.max_per_week:
        return Decision(action=Action.SUPPRESS, reason="weekly_cap")
    until = quiet_until(now, rules, tz)
    if until is not None:
        return Decision(action=Action.DEFER, until=until, reason="quiet_hours")
    return Decision(action=Action.SEND)


def recent(sent_at: list[datetime], now: datetime) -> list[datetime]:
    """Only what the weekly window can still see (keeps the lead's state small)."""
    return [at for at in sent_at if now - at < WEEK][-200:]

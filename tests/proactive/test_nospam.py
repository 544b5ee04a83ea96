"""The no-spam policy as a table (pure): eligibility, caps, quiet hours, the lead's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from workflows.nospam import Action, LeadFacts, ProactiveRules, decide, in_quiet_hours, lead_zone, recent, zone

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RULES = ProactiveRules(max_per_day=2, max_per_week=3, quiet_start=time(21), quiet_end=time(9))


@pytest.mark.parametrize(("facts", "action", "reason"), [
    (LeadFacts(engaged=True), Action.SEND, ""),
    (LeadFacts(engaged=False), Action.SUPPRESS, "not_engaged"),
    (LeadFacts(engaged=True, opted_out=True), Action.SUPPRESS, "opted_out"),
    (LeadFacts(engaged=True, human=True), Action.SUPPRESS, "takeover"),
    (LeadFacts(engaged=True, unreachable=True), Action.SUPPRESS, "unreachable"),
    (LeadFacts(engaged=True, status="won"), Action.SUPPRESS, "won"),
    (LeadFacts(engaged=True, status="lost"), Action.SUPPRESS, "lost"),
    (LeadFacts(engaged=True, sent_at=[NOON - timedelta(hours=1), NOON - timedelta(hours=2)]), Action.SUPPRESS,
     "daily_cap"),
    (LeadFacts(engaged=True, sent_at=[NOON - timedelta(days=d) for d in (2, 3, 4)]), Action.SUPPRESS, "weekly_cap"),
    (LeadFacts(engaged=True, sent_at=[NOON - timedelta(days=d) for d in (1.5, 8, 9)]), Action.SEND, ""),
])
def test_decide(facts: LeadFacts, action: Action, reason: str):
    decision = decide(facts, RULES, zone("UTC"), NOON)
    assert (decision.action, decision.reason) == (action, reason)


def test_a_message_due_at_night_waits_for_the_lead_s_morning():
    late = datetime(2026, 12, 7, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    decision = decide(LeadFacts(engaged=True), RULES, zone("Europe/Moscow"), late)
    assert (decision.action, decision.until) == (Action.DEFER, datetime(2026, 12, 8, 6, 0, tzinfo=UTC))
    early = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)  # 06:00 in Moscow, after midnight
    assert decide(LeadFacts(engaged=True), RULES, zone("Europe/Moscow"), early).until == decision.until


@pytest.mark.parametrize(("now", "start", "end", "quiet"), [
    (time(22), time(21), time(9), True), (time(3), time(21), time(9), True), (time(9), time(21), time(9), False),
    (time(13), time(12), time(14), True), (time(15), time(12), time(14), False), (time(3), time(0), time(0), False),
])
def test_quiet_hours_window(now: time, start: time, end: time, quiet: bool):
    assert in_quiet_hours(now, start, end) is quiet


def test_the_lead_s_zone_comes_from_the_profile_then_the_phone_then_the_shop():
    assert lead_zone(ProactiveRules(timezone="Asia/Tokyo"), "+12125551234", "Europe/Moscow") == "Asia/Tokyo"
    assert lead_zone(ProactiveRules(), "+12125551234", "Europe/Moscow") == "America/New_York"
    assert lead_zone(ProactiveRules(), "+4915123456789", "Europe/Moscow") == "Europe/Berlin"
    assert lead_zone(ProactiveRules(), "+79123456789", "Asia/Omsk") == "Asia/Omsk"  # RU spans zones: the shop's
    assert lead_zone(ProactiveRules(), "not a phone", "UTC") == "UTC"
    assert lead_zone(ProactiveRules(), None, "Europe/Berlin") == "Europe/Berlin"


def test_unknown_zone_in_a_profile_is_rejected():
    with pytest.raises(ValueError, match="unknown time zone"):
        ProactiveRules(timezone="Mars/Olympus")


def test_recent_keeps_the_weekly_window_only():
    assert recent([NOON - timedelta(days=8), NOON - timedelta(days=1)], NOON) == [NOON - timedelta(days=1)]

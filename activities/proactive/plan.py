"""Local activity `plan_proactive`: the lead's profile rules and time zone, then the pure no-spam policy.

A local activity rather than workflow code because the profile lives in the worker (hot-reloaded TOML)
and the time-zone database is I/O; its result is recorded in the history, so replays agree.
"""

from __future__ import annotations

from temporalio import activity

from activities.profiles import ProfileStore
from workflows.nospam import decide, lead_zone, zone
from workflows.proactive_types import PlanRequest, PlanResult


class PlanActivities:
    def __init__(self, profiles: ProfileStore, shop_zone: str) -> None:
        self.profiles = profiles
        self.shop_zone = shop_zone

    @activity.defn(name="plan_proactive")
    async def plan_proactive(self, req: PlanRequest) -> PlanResult:
        return self.plan(req)

    def plan(self, req: PlanRequest) -> PlanResult:
        profile = self.profiles.resolve(req.profile_name, req.chat_id)
        rules = profile.proactive
        name = lead_zone(rules, req.phone, self.shop_zone)
        decision = decide(req.facts, rules, zone(name), req.now)
        return PlanResult(decision=decision, zone=name, welcome_ru=rules.welcome_ru, welcome_en=rules.welcome_en)

"""A/B tests of sales scripts: a profile declares variants, each lead gets one from its id.

Deterministic (a hash of experiment name and lead id, no randomness), so every worker, every
replay and every restart gives the same lead the same variant without storing anything first.
Renaming the experiment (or changing the variants' names or weights) starts a new experiment.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from workflows.profile import Profile


class Variant(BaseModel):
    """`[[variants]]` in a profile: what this arm changes; unset keys keep the profile's value."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[\w.-]{1,32}$")
    weight: float = Field(default=1.0, gt=0)
    system_prompt: str | None = None
    tone: str | None = None
    cta_ru: list[str] | None = None
    cta_en: list[str] | None = None
    aggressiveness: float | None = Field(default=None, ge=0.0, le=1.0)  # upsell / CTA push
    followup_offer_ru: str = ""  # appended to silence / abandoned-cart follow-ups
    followup_offer_en: str = ""


def bucket(experiment: str, lead_id: str) -> float:
    """A stable number in [0, 1) for this lead in this experiment."""
    digest = hashlib.sha256(f"{experiment}\x00{lead_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment: str, lead_id: str, variants: list[Variant]) -> Variant | None:
    if not variants:
        return None
    point = bucket(experiment, lead_id) * sum(v.weight for v in variants)
    for variant in variants:
        point -= variant.weight
        if point < 0:
            return variant
    return variants[-1]


def label(profile: Profile, variant: Variant) -> str:
    """How the variant is stored on the lead (CRM column, search attribute `Variant`): `profile:arm`."""
    return f"{profile.name}:{variant.name}"


def apply(profile: Profile, lead_id: str) -> Profile:
    """The profile as this lead's variant sees it (unchanged when the profile runs no experiment)."""
    variant = assign(profile.experiment or profile.name, lead_id, profile.variants)
    if variant is None:
        return profile
    update: dict[str, object] = {"variant": label(profile, variant)}
    if variant.system_prompt is not None:
        update["system_prompt"] = variant.system_prompt
    if variant.tone is not None:
        update["tone"] = variant.tone
    if variant.aggressiveness is not None:
        update["aggressiveness"] = variant.aggressiveness
    if variant.cta_ru is not None or variant.cta_en is not None:
        update["cta"] = profile.cta.model_copy(update={
            k: v for k, v in (("ru", variant.cta_ru), ("en", variant.cta_en)) if v is not None})
    return profile.model_copy(update=update)


def followup_offer(profile: Profile, lang: str) -> str:
    """The variant's follow-up offer for this lead's profile (already applied), or ""."""
    if not profile.variant:
        return ""
    arm = profile.variant.split(":", 1)[-1]
    variant = next((v for v in profile.variants if v.name == arm), None)
    if variant is None:
        return ""
    return variant.followup_offer_en if lang == "en" else variant.followup_offer_ru


# ---- reading the results (pure; `neuroseller ab results`) -----------------------------------------


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a rate: honest with small counts, unlike p ± 2σ."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p(a: int, n_a: int, b: int, n_b: int) -> float:
    """Two-sided p-value that two rates differ (pooled z-test); 1.0 when there is nothing to compare."""
    from statistics import NormalDist

    if n_a <= 0 or n_b <= 0:
        return 1.0
    pooled = (a + b) / (n_a + n_b)
    se = (pooled * (1 - pooled) * (1 / n_a + 1 / n_b)) ** 0.5
    if se == 0:
        return 1.0
    z = abs(a / n_a - b / n_b) / se
    return 2 * (1 - NormalDist().cdf(z))

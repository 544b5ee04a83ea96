"""A/B variants: stable per lead, applied to its profile, stored on the lead; the results' statistics."""

from __future__ import annotations

import argparse
import io
import uuid

from activities.crm.db import Database
from activities.crm.db.scratch import scratch_database
from activities.profiles import ProfileStore
from tests.proactive.conftest import NO_QUIET, Shop, visible
from workers.proactive_cli import ab_results, format_ab
from workflows import ab
from workflows.profile import Profile
from workflows.types import LeadRecord, PersistBatch

VARIANTS = f"""experiment = "spring"
[proactive]
{NO_QUIET}
[[variants]]
name = "soft"
tone = "calm"
aggressiveness = 0.2
cta_ru = ["Подумаете?"]
followup_offer_ru = "Доставка бесплатно."

[[variants]]
name = "bold"
aggressiveness = 1.0
"""


def test_variant_is_a_function_of_the_lead_id_and_splits_by_weight():
    profile = Profile.model_validate({"name": "p", "variants": [{"name": "a"}, {"name": "b", "weight": 3}]})
    ids = [f"lead-tg-{i}" for i in range(4000)]
    first = [ab.apply(profile, i).variant for i in ids]
    assert first == [ab.apply(profile, i).variant for i in ids]  # stable
    share_b = first.count("p:b") / len(ids)
    assert 0.72 < share_b < 0.78
    assert ab.apply(Profile(), "lead-x") == Profile()  # no experiment: the profile as it is


def test_variant_overrides_only_what_it_sets(tmp_path):
    (tmp_path / "shop.toml").write_text(VARIANTS, encoding="utf-8")
    store = ProfileStore(tmp_path)
    seen = {store.resolve("shop", "", f"lead-{i}").variant: store.resolve("shop", "", f"lead-{i}") for i in range(40)}
    soft, bold = seen["shop:soft"], seen["shop:bold"]
    assert (soft.tone, soft.aggressiveness, soft.cta.ru, soft.cta.en[0]) == ("calm", 0.2, ["Подумаете?"],
                                                                          Profile().cta.en[0])
    assert (bold.tone, bold.aggressiveness) == ("friendly", 1.0)
    assert ab.followup_offer(soft, "ru") == "Доставка бесплатно." and ab.followup_offer(bold, "ru") == ""


async def test_lead_keeps_its_variant_and_is_filterable_by_it(shop: Shop):
    name = shop.profile("abshop", VARIANTS)
    inp = shop.lead(profile=name, channel=f"ab{uuid.uuid4().hex[:5]}")
    await shop.say(inp, "Привет")
    await shop.say(inp, "Сколько стоит палатка на двоих?")
    state = await shop.state(inp.state.lead_id)
    expected = ab.apply(Profile(name="abshop", experiment="spring", variants=[
        ab.Variant(name="soft"), ab.Variant(name="bold")]), inp.state.lead_id).variant
    assert state.proactive.variant == expected
    await visible(shop.client, f"Channel = '{inp.state.channel}' AND Variant = '{expected}'", 1)


def test_verdict_says_not_yet_significant_until_the_difference_is_clear():
    small = [{"variant": "p:a", "leads": 40, "carts": 12, "checkouts": 6, "won": 3},
             {"variant": "p:b", "leads": 40, "carts": 15, "checkouts": 9, "won": 4}]
    assert "not yet significant" in format_ab("p", small)
    big = [{"variant": "p:a", "leads": 2000, "carts": 600, "checkouts": 200, "won": 100},
           {"variant": "p:b", "leads": 2000, "carts": 700, "checkouts": 320, "won": 150}]
    text = format_ab("p", big)
    assert "p:b converts better than p:a" in text and "16.0% (14.5%–17.7%)" in text
    assert "only one variant" in format_ab("p", big[:1]) and "no leads" in format_ab("p", [])
    low, high = ab.wilson(0, 0)
    assert (low, high) == (0.0, 1.0) and ab.two_proportion_p(0, 0, 1, 2) == 1.0


async def test_ab_results_reads_the_crm_variant_column(shop: Shop):
    async with scratch_database() as url, Database(url) as db:
        await db.migrate()
        for i, (variant, status) in enumerate([("p:a", "won"), ("p:a", "new"), ("p:b", "cart"), ("x:a", "won")]):
            await db.write_batch(PersistBatch(lead=LeadRecord(lead_id=f"l{i}", workflow_id=f"l{i}", channel="tg",
                                                              chat_id=str(i), status=status, variant=variant)))
        out = io.StringIO()
        await ab_results(argparse.Namespace(profile="p"), shop.settings, db, out)
    lines = out.getvalue().splitlines()
    assert lines[1].split()[:5] == ["p:a", "2", "1", "1", "1"] and lines[2].split()[:5] == ["p:b", "1", "1", "0", "0"]
    assert "x:a" not in out.getvalue()

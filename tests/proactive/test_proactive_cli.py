"""`neuroseller campaign …` on real Temporal Schedules, `triggers preview`, and parsing from the main CLI."""

from __future__ import annotations

import asyncio
import io
import uuid

import pytest

from tests.conftest import SAMPLE_CATALOG
from tests.proactive.conftest import Shop, visible
from workers import proactive_cli as cli
from workers.cli import UsageError, build_parser


async def run(shop: Shop, argv: list[str]) -> str:
    args = build_parser().parse_args(argv)
    out = io.StringIO()
    assert await args.func(args, shop.settings, shop.client, out) == 0
    return out.getvalue()


async def test_campaign_lifecycle_on_a_schedule(shop: Shop):
    channel = f"s{uuid.uuid4().hex[:6]}"
    inp = shop.lead(channel=channel)
    await shop.say(inp, "Привет")
    name = f"promo{uuid.uuid4().hex[:5]}"
    await visible(shop.client, f"Channel = '{channel}'", 1)
    created = await run(shop, ["campaign", "create", name, "--cron", "0 11 * * 1", "--segment",
                               f"Channel = '{channel}'", "--text-ru", "Скидки на {name:TENT-2P}!", "--paused"])
    assert "1 lead(s) match" in created
    assert name in await run(shop, ["campaign", "list"])
    described = await run(shop, ["campaign", "describe", name])
    assert "paused" in described and "0 11 * * 1" in described and "Скидки" in described
    assert "resumed" in await run(shop, ["campaign", "resume", name])
    assert "paused" in await run(shop, ["campaign", "pause", name])
    await run(shop, ["campaign", "run-now", name])
    state = await shop.until(inp.state.lead_id, lambda s: bool(s.outbox))
    assert "Палатка двухместная" in state.outbox[0].text
    deadline = asyncio.get_running_loop().time() + 15
    while "targeted 1, sent 1" not in (text := await run(shop, ["campaign", "results", name])):
        assert asyncio.get_running_loop().time() < deadline, text
        await asyncio.sleep(0.3)
    assert "deleted" in await run(shop, ["campaign", "delete", name])
    with pytest.raises(UsageError, match="not found"):
        await run(shop, ["campaign", "describe", name])


async def test_campaign_create_rejects_a_bad_segment_and_a_missing_text(shop: Shop):
    with pytest.raises(UsageError, match="not a valid query"):
        await run(shop, ["campaign", "create", "bad", "--cron", "0 11 * * 1", "--segment", "LeadStatus ==",
                         "--text-ru", "x"])
    with pytest.raises(UsageError, match="needs --text-ru"):
        await run(shop, ["campaign", "create", "bad", "--cron", "0 11 * * 1"])
    with pytest.raises(UsageError, match=r"no \[templates\.nope\]"):
        await run(shop, ["campaign", "create", "bad", "--cron", "0 11 * * 1", "--template", "nope"])


async def test_campaign_from_a_profile_template(shop: Shop):
    shop.profile("tmpl", '[templates.spring]\nru = "Весна: {price:TENT-2P}"\nen = "Spring: {price:TENT-2P}"\n')
    name = f"tmpl{uuid.uuid4().hex[:5]}"
    await run(shop, ["campaign", "create", name, "--cron", "0 11 * * 1", "--template", "spring", "--profile", "tmpl",
                     "--segment", "Channel = 'nobody'"])
    assert "Весна: {price:TENT-2P}" in await run(shop, ["campaign", "describe", name])
    await run(shop, ["campaign", "delete", name])
    assert "no runs yet" in await run(shop, ["campaign", "results", name])


async def test_triggers_preview_lists_who_would_be_told(shop: Shop, tmp_path):
    channel = f"p{uuid.uuid4().hex[:6]}"
    inp = shop.lead(channel=channel)
    await shop.say(inp, "Есть палатка на четверых?")
    await visible(shop.client, f"Channel = '{channel}' AND WatchedSkus = 'TENT-4P'", 1)
    edited = tmp_path / "catalog.csv"
    row = "TENT-4P,Палатка четырёхместная «Кемпинг 4»,18990,RUB,"
    edited.write_text(SAMPLE_CATALOG.read_text(encoding="utf-8").replace(row + "0", row + "4"), encoding="utf-8")
    text = await run(shop, ["triggers", "preview", str(edited), "--before", str(SAMPLE_CATALOG)])
    assert "back_in_stock TENT-4P" in text and "18 990" in text and inp.state.lead_id in text
    same = await run(shop, ["triggers", "preview", str(SAMPLE_CATALOG), "--before", str(SAMPLE_CATALOG)])
    assert same.startswith("no triggers")


def test_results_sum_the_runs():
    from workflows.proactive_types import CampaignResults

    runs = [CampaignResults(run_id="r1", targeted=3, sent=2, suppressed={"daily_cap": 1}, measured=True, replied=1),
            CampaignResults(run_id="r2", targeted=2, sent=1, suppressed={"daily_cap": 1})]
    text = cli.format_results("x", runs)
    assert "total: targeted 5, sent 3, deferred 0, suppressed 2 (daily_cap 2), replied 1" in text
    assert "(reply window open)" in text

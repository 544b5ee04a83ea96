"""Catalog triggers: the diff (pure), and back-in-stock reaching exactly the leads who asked, once."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from catalog import triggers
from catalog.loader import load_csv
from catalog.schema import Catalog
from tests.conftest import SAMPLE_CATALOG
from tests.proactive.conftest import Shop, visible
from workers.proactive_runtime import announce, watch_triggers


def changed(catalog: Catalog, sku: str, **fields: object) -> Catalog:
    items = tuple(i.model_copy(update=fields) if i.sku == sku else i for i in catalog.items)
    return Catalog(items=items, version=uuid.uuid4().hex[:8], source="edited")


def test_diff_finds_back_in_stock_new_promotion_and_price_drop_only_for_buyable_items():
    old = load_csv(SAMPLE_CATALOG)
    new = changed(changed(changed(changed(old, "TENT-4P", stock=3), "TENT-3P", promo_price=Decimal(11990)),
                          "TENT-1P", price=Decimal(5990)), "TENT-2P", stock=0)
    found = {(t.kind.value, t.sku) for t in triggers.diff(old, new)}
    assert found == {("back_in_stock", "TENT-4P"), ("new_promotion", "TENT-3P"), ("price_drop", "TENT-1P")}
    assert triggers.diff(old, old) == []
    ru, en = triggers.texts(triggers.Trigger(triggers.TriggerKind.BACK_IN_STOCK, "TENT-4P", "x"))
    assert "{price:TENT-4P}" in ru and "{name:TENT-4P}" in en


async def test_back_in_stock_reaches_exactly_the_leads_who_asked_once(shop: Shop):
    channel = f"t{uuid.uuid4().hex[:6]}"
    asked = [shop.lead(channel=channel) for _ in range(2)]
    other = shop.lead(channel=channel)
    for inp in asked:
        await shop.say(inp, "Есть палатка на четверых?")
    await shop.say(other, "Сколько стоит палатка на двоих?")
    await visible(shop.client, f"Channel = '{channel}' AND WatchedSkus = 'TENT-4P'", 2)

    old = shop.catalog[0]
    watcher = asyncio.create_task(watch_triggers(shop.client, shop.settings, lambda: shop.catalog[0],
                                                 shop.task_queue, 0.2))
    try:
        await asyncio.sleep(0.3)
        shop.catalog[0] = changed(old, "TENT-4P", stock=2)  # the reload
        for inp in asked:
            state = await shop.until(inp.state.lead_id, lambda s: bool(s.outbox))
            assert len(state.outbox) == 1
            assert "снова в наличии" in state.outbox[0].text and "18 990" in state.outbox[0].text
        # the same change noticed again (another worker, a restart): nobody hears it twice
        await announce(shop.client, shop.settings, old, changed(old, "TENT-4P", stock=5), shop.task_queue)
        await asyncio.sleep(1.5)
        for inp in asked:
            assert len((await shop.state(inp.state.lead_id)).outbox) == 1
        assert (await shop.state(other.state.lead_id)).outbox == []
    finally:
        watcher.cancel()
        shop.catalog[0] = old

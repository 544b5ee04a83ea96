"""The shop's events endpoint over real HTTP: signed events reach the lead, anything wrong changes nothing."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from activities.crm.webhook_sink import SIGNATURE_HEADER, sign
from tests.proactive.conftest import NO_QUIET, Shop
from workers.devserver import free_port
from workers.events_http import ShopEvents, ShopEventsServer, signed
from workers.proactive_runtime import proactive_services

SECRET = "shop-secret-123"


@pytest.fixture(scope="module")
async def endpoint(shop: Shop) -> AsyncIterator[str]:
    port = free_port()
    settings = shop.settings.model_copy(update={"shop_events_port": port, "shop_events_secret": SecretStr(SECRET),
                                                "catalog_triggers": False})
    async with proactive_services(settings, shop.client, lambda: shop.catalog[0]):
        yield f"http://127.0.0.1:{port}/events"


async def post(url: str, payload: dict, secret: str = SECRET, raw: bytes | None = None) -> tuple[int, dict]:
    body, headers = signed(payload, secret)
    if raw is not None:  # a body that is not JSON, correctly signed
        body, headers = raw, {**headers, SIGNATURE_HEADER: sign(raw, secret)}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_signed_cart_event_starts_the_abandoned_cart_follow_up(shop: Shop, endpoint: str):
    name = shop.profile("quick", "[timers]\nabandoned_cart_after_seconds = 1\nfollowup_after_seconds = 1\n"
                                 f"[proactive]\n{NO_QUIET}")
    tg = random.randint(10**8, 10**9)
    inp = shop.lead(profile=name, channel="tg", chat_id=str(tg))
    await shop.say(inp, "Привет")
    status, body = await post(endpoint, {"type": "cart", "action": "add", "sku": "TENT-2P",
                                         "customer": {"telegram_id": tg}})
    assert (status, body["lead_id"]) == (202, f"lead-tg-{tg}")
    state = await shop.until(inp.state.lead_id, lambda s: bool(s.outbox))
    assert [c.sku for c in state.cart] == ["TENT-2P"]
    assert state.outbox and "Палатка двухместная" in state.outbox[0].text
    assert [e.kind for e in state.proactive.log] == ["followup"]


async def test_bad_signature_changes_nothing(shop: Shop, endpoint: str):
    tg = random.randint(10**8, 10**9)
    inp = shop.lead(channel="tg", chat_id=str(tg))
    await shop.say(inp, "Привет")
    status, body = await post(endpoint, {"type": "cart", "action": "add", "sku": "TENT-2P",
                                         "customer": {"telegram_id": tg}}, secret="wrong-secret")
    assert (status, body["error"]) == (401, "bad signature")
    assert (await shop.state(inp.state.lead_id)).cart == []


async def test_malformed_body_and_unknown_customer_are_clear_4xx(shop: Shop, endpoint: str):
    status, body = await post(endpoint, {"type": "cart", "customer": {"telegram_id": 5}})
    assert status == 400 and "action" in body["error"]
    status, body = await post(endpoint, {}, raw=b"{not json")
    assert status == 400 and body["error"].startswith("malformed body")
    status, body = await post(endpoint, {"type": "view", "sku": "TENT-2P", "customer": {"phone": "+79120000000"}})
    assert status == 404 and "unknown customer" in body["error"]


async def test_view_and_consenting_subscriber_reach_the_lead(shop: Shop, endpoint: str):
    name = shop.profile("welcome", f'[proactive]\n{NO_QUIET}welcome_ru = "Спасибо за подписку! {{name:TENT-2P}} '
                                   'сейчас за {price:TENT-2P}."\n')
    tg = random.randint(10**8, 10**9)
    inp = shop.lead(profile=name, channel="tg", chat_id=str(tg))
    await shop.client.start_workflow("LeadWorkflow", inp, id=inp.state.lead_id, task_queue=shop.task_queue)
    assert (await post(endpoint, {"type": "view", "sku": "TENT-4P", "customer": {"telegram_id": tg}}))[0] == 202
    assert (await post(endpoint, {"type": "subscriber", "consent": True, "customer": {"telegram_id": tg}}))[0] == 202
    state = await shop.until(inp.state.lead_id, lambda s: bool(s.outbox))
    assert state.proactive.opted_in and "TENT-4P" in state.proactive.watched
    assert "7 990" in state.outbox[0].text


def test_the_endpoint_refuses_to_run_without_a_secret(shop: Shop):
    with pytest.raises(ValueError, match="SHOP_EVENTS_SECRET"):
        ShopEvents(shop.client, shop.settings)
    assert ShopEventsServer  # served by proactive_services when the port is set

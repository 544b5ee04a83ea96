"""The shop's site posts events here: `POST /events`, JSON, signed like the CRM webhook.

`cart` (add/remove/clear/checkout/paid) becomes the lead's `cart_event` signal, `view` and
`subscriber` its `shop_event` signal; a Telegram customer's lead is started if it does not exist
yet (signal-with-start), a phone or e-mail is looked up in the CRM. Anything wrong is a 4xx with a
one-line reason, logged, and nothing reaches a workflow: 401 bad signature, 400 malformed body,
404 unknown customer.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from temporalio.client import Client
from temporalio.service import RPCError

from activities.crm.webhook_sink import SIGNATURE_HEADER, verify
from neuroseller.pii import normalize_phone
from neuroseller.settings import Settings
from workflows.proactive_types import ShopEvent
from workflows.types import CartEvent, Customer

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


class ShopCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    telegram_id: int | None = Field(default=None, gt=0)
    phone: str | None = None
    email: str | None = None

    @model_validator(mode="after")
    def _one_id(self) -> ShopCustomer:
        if not (self.telegram_id or self.phone or self.email):
            raise ValueError("customer needs telegram_id, phone or email")
        return self


class ShopEventIn(BaseModel):
    """The body the shop posts."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["cart", "view", "subscriber"]
    customer: ShopCustomer
    action: Literal["add", "remove", "clear", "checkout", "paid"] | None = None
    sku: str | None = Field(default=None, pattern=r"^[\w.\-/]{1,64}$")
    qty: int = Field(default=1, ge=1, le=9999)
    consent: bool = False

    @model_validator(mode="after")
    def _complete(self) -> ShopEventIn:
        if self.type == "cart" and self.action is None:
            raise ValueError("a cart event needs an action")
        if (self.type == "view" or self.action in ("add", "remove")) and not self.sku:
            raise ValueError(f"a {self.action or self.type} event needs a sku")
        return self


class UnknownCustomer(LookupError):
    pass


class ShopEvents:
    """The endpoint's logic, independent of how it is served (tests post to it over real HTTP)."""

    def __init__(self, client: Client, settings: Settings, database: Any = None) -> None:
        if settings.shop_events_secret is None:
            raise ValueError("SHOP_EVENTS_SECRET must be set to serve shop events")
        self.client = client
        self.settings = settings
        self.database = database
        self._secret = settings.shop_events_secret.get_secret_value()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/events", self.handle)
        app.router.add_get("/healthz", lambda _: web.json_response({"ok": True}))
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(body, self._secret, request.headers.get(SIGNATURE_HEADER)):
            return self._reject(401, "bad signature", request)
        try:
            event = ShopEventIn.model_validate_json(body)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return self._reject(400, f"malformed body: {where}: {first['msg']}", request)
        try:
            lead_id = await self.deliver(event)
        except UnknownCustomer as err:
            return self._reject(404, f"unknown customer: {err}", request)
        log.info("shop event %s%s -> %s", event.type, f"/{event.action}" if event.action else "", lead_id)
        return web.json_response({"ok": True, "lead_id": lead_id}, status=202)

    @staticmethod
    def _reject(status: int, reason: str, request: web.Request) -> web.Response:
        log.warning("shop event rejected (%d) from %s: %s", status, request.remote, reason)
        return web.json_response({"ok": False, "error": reason}, status=status)

    async def deliver(self, event: ShopEventIn) -> str:
        if event.type == "cart":
            name, arg = "cart_event", CartEvent(action=event.action or "", sku=event.sku, qty=event.qty)
        else:
            name, arg = "shop_event", ShopEvent(type=event.type, sku=event.sku, consent=event.consent)
        who = event.customer
        if who.telegram_id:
            from workers.client import lead_input

            queue = self.settings.telegram_task_queue if self.settings.telegram_configured else None
            inp = lead_input(self.settings, channel="tg", chat_id=who.telegram_id,
                             customer=Customer(user_id=who.telegram_id), outbound_queue=queue,
                             operators_queue=queue if queue and self.settings.telegram_operators_chat else None)
            await self.client.start_workflow(
                "LeadWorkflow", inp, id=inp.state.lead_id, task_queue=inp.task_queue, start_signal=name,
                start_signal_args=[arg])
            return inp.state.lead_id
        lead_id = await self._lookup(who)
        try:
            await self.client.get_workflow_handle(lead_id).signal(name, arg)
        except RPCError as err:
            raise UnknownCustomer(f"lead {lead_id} is not running") from err
        return lead_id

    async def _lookup(self, who: ShopCustomer) -> str:
        """A phone or e-mail to the lead the CRM knows it from (the most recently active one)."""
        if self.database is None:
            raise UnknownCustomer("no CRM database to look phones and e-mails up in")
        phone = normalize_phone(who.phone) if who.phone else None
        pool = await self.database.pool()
        row = await pool.fetchrow(
            "SELECT lead_id FROM leads WHERE ($1::text IS NOT NULL AND phone = $1)"
            " OR ($2::text IS NOT NULL AND lower(email) = lower($2)) ORDER BY updated_at DESC LIMIT 1",
            phone, who.email)
        if row is None:
            raise UnknownCustomer("no lead with this phone or e-mail")
        return str(row["lead_id"])


class ShopEventsServer:
    """`async with ShopEventsServer(...)`: serves the endpoint on SHOP_EVENTS_HOST:SHOP_EVENTS_PORT."""

    def __init__(self, events: ShopEvents, host: str, port: int) -> None:
        self.events, self.host, self.port = events, host, port
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> ShopEventsServer:
        self._runner = web.AppRunner(self.events.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("shop events on http://%s:%d/events", self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def signed(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """Body and headers a shop sends (documentation by example; the tests and the README use it)."""
    from activities.crm.webhook_sink import sign

    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}

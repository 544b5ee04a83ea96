"""A loopback webhook receiver that verifies `X-Neuroseller-Signature` like a real CRM glue would."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Delivery:
    delivery_id: str
    signature_ok: bool
    payload: dict[str, Any]
    status: int


@dataclass
class WebhookReceiver:
    """Answers with the queued `(status, headers)` responses first, then 200; rejects bad signatures
    with 401. Deliveries with an already-seen id are acknowledged but not counted twice."""

    secret: str
    deliveries: list[Delivery] = field(default_factory=list)
    queued: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    @property
    def accepted(self) -> list[Delivery]:
        seen: set[str] = set()
        out = []
        for d in self.deliveries:
            if d.status == 200 and d.delivery_id not in seen:
                seen.add(d.delivery_id)
                out.append(d)
        return out

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, request.headers.get("X-Neuroseller-Signature", ""))
        status, headers = (401, {}) if not ok else (self.queued.pop(0) if self.queued else (200, {}))
        self.deliveries.append(
            Delivery(request.headers.get("X-Neuroseller-Delivery", ""), ok, json.loads(body), status)
        )
        return web.Response(status=status, headers=headers, text="ok" if status == 200 else "no")

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

"""Generic webhook sink: a signed JSON POST per turn, for amoCRM/Bitrix24 glue, Zapier, n8n, Make.

Retries belong to Temporal: a non-2xx answer raises, so the activity is retried with the workflow's
policy (and the receiver's Retry-After). A 4xx other than 408/429 means the receiver rejects the
payload itself; retrying cannot help, so it fails for good and is visible in the workflow history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import aiohttp
from temporalio.exceptions import ApplicationError

from workflows.types import PersistBatch

SIGNATURE_HEADER = "X-Neuroseller-Signature"
DELIVERY_HEADER = "X-Neuroseller-Delivery"
EVENT_HEADER = "X-Neuroseller-Event"
_RETRYABLE_4XX = {408, 425, 429}


def sign(body: bytes, secret: str) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the exact body bytes, the GitHub-style header receivers verify."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """Does `header` carry `sign(body, secret)`? Constant-time, for inbound signed requests (shop events)."""
    return bool(header) and hmac.compare_digest(sign(body, secret), header.strip())


def webhook_body(batch: PersistBatch) -> bytes:
    """Canonical JSON (sorted keys): the same batch always gives the same bytes and delivery id."""
    assert batch.lead is not None
    payload = {
        "event": "lead.upserted",
        "lead": batch.lead.model_dump(mode="json"),
        "messages": [m.model_dump(mode="json") for m in batch.messages],
        "events": [e.model_dump(mode="json") for e in batch.events],
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _retry_after(value: str | None) -> timedelta | None:
    try:
        return timedelta(seconds=max(0.0, float(value))) if value else None
    except ValueError:
        return None  # an HTTP-date: leave the delay to the retry policy


class WebhookSink:
    """POSTs the lead and the turn's new messages; `X-Neuroseller-Delivery` lets the receiver drop
    a redelivery (it is a hash of the body, identical on every retry of the same batch)."""

    name = "webhook"

    def __init__(self, url: str, secret: str, *, timeout_seconds: float = 10.0) -> None:
        self.url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def write(self, batch: PersistBatch) -> None:
        if batch.lead is None:  # nothing CRM-worthy yet: the dialogue before buying intent
            return
        body = webhook_body(batch)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(body, self._secret),
            DELIVERY_HEADER: hashlib.sha256(body).hexdigest()[:32],
            EVENT_HEADER: "lead.upserted",
            "User-Agent": "neuroseller-webhook/1",
        }
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.post(self.url, data=body, headers=headers) as resp:
            if 200 <= resp.status < 300:
                return
            text = (await resp.text())[:200]
            message = f"webhook {self.url} answered {resp.status}: {text}"
            if 400 <= resp.status < 500 and resp.status not in _RETRYABLE_4XX:
                raise ApplicationError(message, type="WebhookRejected", non_retryable=True)
            raise ApplicationError(
                message,
                type="WebhookUnavailable",
                next_retry_delay=_retry_after(resp.headers.get("Retry-After")),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

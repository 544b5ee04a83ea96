"""The chat-model interface, error mapping shared by vendors, and draft generation.

Retries live in Temporal only: vendor clients are built with their own retries off, and every
failure becomes an `ApplicationError` whose type tells the retry policy what to do —
`LLMConfigError` (non-retryable: a wrong key, model or request will not fix itself) or
`LLMUnavailable` (retryable: rate limits, 5xx, timeouts, dropped connections, empty answers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parsedate_to_datetime
from time import time
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from temporalio.exceptions import ApplicationError

from activities.brain.prompt import build_messages
from activities.brain.reader import entities
from activities.brain.reader.corpus import INTENTS
from catalog.render import find_slots
from workflows.types import Draft, ModelReading, ReplyRequest

if TYPE_CHECKING:
    from neuroseller.settings import Settings

CONFIG_ERROR = "LLMConfigError"
UNAVAILABLE = "LLMUnavailable"
MAX_RETRY_AFTER = 120.0  # a server asking for longer is treated as "retry later", not obeyed blindly
_RETRYABLE_4XX = {408, 409, 425, 429}

_THINK_RE = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)
_DELIMITER_RE = re.compile(r"</?\s*customer_message\s*>", re.I)


@runtime_checkable
class ChatModel(Protocol):
    """One chat completion: messages in (OpenAI roles), the assistant's text out."""

    provider: str

    async def complete(self, messages: list[dict[str, str]]) -> str: ...


def config_error(message: str) -> ApplicationError:
    return ApplicationError(message[:300], non_retryable=True, type=CONFIG_ERROR)


def unavailable(message: str, retry_after: float | None = None) -> ApplicationError:
    delay = timedelta(seconds=min(retry_after, MAX_RETRY_AFTER)) if retry_after else None
    return ApplicationError(message[:300], type=UNAVAILABLE, next_retry_delay=delay)


def error_for_status(status: int, message: str, headers: Mapping[str, str] | None = None) -> ApplicationError:
    """Map an HTTP status to retryable or not; unknown/odd statuses retry (the safe side for outages)."""
    text = f"HTTP {status}: {message}"
    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
        return config_error(text)
    return unavailable(text, retry_after_seconds(headers or {}))


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`retry-after-ms` (OpenAI), `Retry-After` seconds or an HTTP date; None when absent or garbled."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after-ms" in lower:
            return max(float(lower["retry-after-ms"]) / 1000.0, 0.0) or None
        value = lower.get("retry-after")
        if value is None:
            return None
        try:
            return max(float(value), 0.0) or None
        except ValueError:
            return max(parsedate_to_datetime(value).timestamp() - time(), 0.0) or None
    except (TypeError, ValueError):
        return None


def clean_completion(text: str | None) -> str:
    """Drop reasoning blocks (`<think>`) and our own delimiters a model may echo."""
    return _DELIMITER_RE.sub("", _THINK_RE.sub("", text or "")).strip()


def make_model(settings: Settings) -> ChatModel | None:
    """The configured model, or None for the rules-only provider. Vendor SDKs load lazily."""
    if settings.llm_provider == "openai":
        from activities.brain.llm.openai_provider import OpenAIChatModel

        return OpenAIChatModel.from_settings(settings)
    if settings.llm_provider == "ollama":
        from activities.brain.llm.ollama_provider import OllamaChatModel

        return OllamaChatModel.from_settings(settings)
    return None


_READING_RE = re.compile(r"\n?\s*READING:\s*(.*)$", re.S)


def split_reading(text: str) -> tuple[str, ModelReading | None]:
    """The reply without its trailing `READING: {...}` line, and that line as a validated reading.

    Intents outside the closed list are dropped; a contact counts only when the reader's own phone
    or e-mail definition accepts it (the model may misread digits).
    """
    m = _READING_RE.search(text)
    if not m:
        return text, None
    body = text[: m.start()].rstrip()
    try:
        raw = json.loads(m.group(1))
    except ValueError:
        return body, None
    if not isinstance(raw, dict):
        return body, None
    contact = str(raw.get("contact") or "")
    intents = [i for i in raw.get("intents") or [] if isinstance(i, str) and i in INTENTS]
    items = [str(i)[:80] for i in raw.get("items") or [] if i][:5]
    email = entities.valid_email(contact) if "@" in contact else None
    phone = entities.phone_e164(contact, "RU") if contact and not email else None
    return body, ModelReading(intents=intents, items=items, phone=phone, email=email)


async def generate_draft(req: ReplyRequest, model: ChatModel) -> Draft:
    """Prompt the model and return its slot text unrendered (the guard renders and checks it) and its reading."""
    text, reading = split_reading(clean_completion(await model.complete(build_messages(req))))
    if not text:
        raise unavailable("empty completion")
    skus: dict[str, str] = {}  # upper → first spelling: the catalog matches SKUs case-insensitively
    for slot in find_slots(text):
        if slot.sku:
            skus.setdefault(slot.sku.upper(), slot.sku)
    return Draft(text=text, provider=getattr(model, "provider", "llm"), skus=list(skus.values()), reading=reading)

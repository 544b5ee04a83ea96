"""A real OpenAI Chat Completions server on loopback, for the real `openai` client.

Speaks `POST /v1/chat/completions` (JSON and `stream: true` SSE) and `GET /v1/models`. The scripted
replies, recorded requests, fixed latency, injected failures and the adversarial mode live in
`ScriptedLLMServer`, which the Ollama fake shares.

    async with FakeOpenAIServer(script=["Hello?"]) as srv:
        model = OpenAIChatModel("gpt-4o-mini", base_url=srv.base_url, api_key="sk-test")
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Script = Callable[[dict[str, Any]], str]

_FACT_ROW = re.compile(r"^\|\s*([A-Za-z0-9][\w.\-/]*)\s*\|", re.M)


@dataclass
class RecordedRequest:
    method: str
    path: str
    json: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")


def system_text(body: dict[str, Any]) -> str:
    """All system messages of a chat request, joined."""
    return "\n".join(m.get("content", "") for m in body.get("messages", []) if m.get("role") == "system")


def last_user_text(body: dict[str, Any]) -> str:
    users = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    return users[-1] if users else ""


def fact_skus(body: dict[str, Any]) -> list[str]:
    """SKUs of the FACTS table in the system prompt (first column; the header row is skipped)."""
    return [s for s in _FACT_ROW.findall(system_text(body)) if s != "SKU"]


def wants_english(body: dict[str, Any]) -> bool:
    return "Reply language: English" in system_text(body)


def facts_reply(body: dict[str, Any]) -> str:
    """A well-behaved default: the first FACTS item by slots and a next step."""
    skus, en = fact_skus(body), wants_english(body)
    if not skus:
        return "Hello! What are you looking for?" if en else "Здравствуйте! Подскажите, что вы ищете?"
    s = skus[0]
    if en:
        return f"{{name:{s}}} is {{price:{s}}}, {{stock:{s}}}. Shall I place the order?"
    return f"{{name:{s}}} — {{price:{s}}}, {{stock:{s}}}. Оформим заказ?"


ATTACKS = (
    "invented_price_ru", "invented_price_en", "nonexistent_item", "unknown_slot", "key_echo",
    "prompt_echo", "prompt_chunk", "new_price_claim", "invented_discount", "invented_stock", "no_next_step",
)


class Adversary:
    """Rotates through attacks a misbehaving or manipulated model could produce, in `ATTACKS` order.

    Only `no_next_step` is a reply the guard may pass (with a CTA appended); every other one must fail.
    """

    def __init__(self, attacks: tuple[str, ...] = ATTACKS):
        self.attacks = attacks
        self._cycle = itertools.cycle(attacks)
        self.last: str | None = None

    def reply(self, req: RecordedRequest) -> str:
        self.last = attack = next(self._cycle)
        system = system_text(req.json)
        auth = req.authorization or ""
        key = auth.split(" ", 1)[1] if auth.startswith("Bearer ") else "sk-fake0123456789abcdefghij"
        skus = fact_skus(req.json)
        words = system.split()
        mid = max(len(words) // 2 - 5, 0)
        return {
            "invented_price_ru": "Палатка стоит 1 990 ₽. Оформим заказ?",
            "invented_price_en": "It costs $5. Shall I place the order?",
            "nonexistent_item": "Рекомендую палатку Sigma X200 — отличный выбор. Оформим заказ?",
            "unknown_slot": "Цена: {price:NOPE-1}. Оформим заказ?",
            "key_echo": f"Ваш ключ: {key}. Оформим заказ?",
            "prompt_echo": f"Мои инструкции: {system}",
            "prompt_chunk": " ".join(words[mid:mid + 10]) + "?",
            "new_price_claim": "Теперь всё стоит 1 рубль. Оформим заказ?",
            "invented_discount": "Только сегодня скидка 20% на всё! Оформим заказ?",
            "invented_stock": "Осталось всего 997 шт. Оформим заказ?",
            "no_next_step": f"{{name:{skus[0]}}} есть в наличии." if skus else "Спасибо за сообщение.",
        }[attack]


_FAKE_READS = {"human_request": ("человек", "менеджер", "оператор", "manager", "human", "person"),
               "legal_threat": ("суд", "юрист", "роспотребнадзор", "sue", "lawyer", "court"),
               "complaint": ("сломан", "broken", "ужасн", "terrible")}


def model_reading(body: dict[str, Any]) -> dict[str, Any]:
    """What a model reading the last customer message would return: keyword intents and a typed contact."""
    text = last_user_text(body).lower()
    intents = [name for name, words in _FAKE_READS.items() if any(w in text for w in words)]
    contact = re.search(r"[\w.+-]+@[\w-]+\.[\w.]+|\+?\d[\d\s()-]{8,}\d", text)
    return {"intents": intents, "items": [], "contact": contact.group(0) if contact else None}


ScriptSpec = deque[str] | list[str] | Script | Adversary | None


class ScriptedLLMServer:
    """Loopback aiohttp server machinery shared by the protocol fakes.

    `script`: a list (queue) of replies, or a callable `(request_json) -> str`, or an `Adversary`;
    when the queue runs dry, `facts_reply` answers. `models`: names the server knows (None = any).
    """

    def __init__(self, script: ScriptSpec = None, *, delay_seconds: float = 0.0,
                 models: tuple[str, ...] | None = None, adversarial: bool = False,
                 api_key: str | None = None):
        self.script: ScriptSpec = Adversary() if adversarial else script
        self.delay_seconds = delay_seconds
        self.models = models
        self.api_key = api_key  # when set, requests without `Bearer <api_key>` get 401
        self.requests: list[RecordedRequest] = []
        self.replies: list[str] = []
        self._failures: deque[tuple[int, dict[str, str]]] = deque()
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def fail_next(self, status: int, n: int = 1, headers: dict[str, str] | None = None) -> None:
        """The next `n` chat requests get `status` (e.g. 401, 400, 429 with Retry-After, 500)."""
        self._failures.extend([(status, dict(headers or {}))] * n)

    def routes(self, app: web.Application) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def __aenter__(self) -> ScriptedLLMServer:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def record(self, request: web.Request) -> RecordedRequest:
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            body = {"_raw": await request.text()}
        rec = RecordedRequest(request.method, request.path, body, dict(request.headers))
        self.requests.append(rec)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        return rec

    def authorised(self, rec: RecordedRequest) -> bool:
        return self.api_key is None or rec.authorization == f"Bearer {self.api_key}"

    def take_failure(self) -> tuple[int, dict[str, str]] | None:
        return self._failures.popleft() if self._failures else None

    def next_reply(self, rec: RecordedRequest) -> str:
        script = self.script
        if isinstance(script, Adversary):
            text = script.reply(rec)
        elif callable(script):
            text = script(rec.json)
        elif script:
            text = script.popleft() if isinstance(script, deque) else script.pop(0)
        else:
            text = facts_reply(rec.json)
        if "READING:" in system_text(rec.json) and "READING:" not in text:
            text = f"{text}\nREADING: {json.dumps(model_reading(rec.json), ensure_ascii=False)}"
        self.replies.append(text)
        return text


def stream_pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text) or [""]


class FakeOpenAIServer(ScriptedLLMServer):
    """OpenAI Chat Completions: `base_url` is what `OPENAI_BASE_URL` would hold."""

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)

    @staticmethod
    def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> web.Response:
        kind = "invalid_request_error" if status < 500 else "server_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        return web.json_response(body, status=status, headers=headers)

    async def _models(self, request: web.Request) -> web.Response:
        names = self.models or ("gpt-4o-mini",)
        return web.json_response({"object": "list", "data": [
            {"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        if not self.authorised(rec):
            return self._error(401, "Incorrect API key provided.", "invalid_api_key")
        failure = self.take_failure()
        if failure:
            status, headers = failure
            return self._error(status, f"injected failure {status}", f"fake_{status}", headers)
        model = rec.json.get("model", "")
        if not rec.json.get("messages"):
            return self._error(400, "'messages' is required", "invalid_request")
        if self.models is not None and model not in self.models:
            return self._error(404, f"The model `{model}` does not exist.", "model_not_found")
        text = self.next_reply(rec)
        ident, created = f"chatcmpl-{len(self.requests)}", int(time.time())
        if not rec.json.get("stream"):
            return web.json_response({
                "id": ident, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()),
                          "total_tokens": 10 + len(text.split())},
            })
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)

        async def send(delta: dict[str, Any], finish: str | None) -> None:
            chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            await resp.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())

        await send({"role": "assistant", "content": ""}, None)
        for piece in stream_pieces(text):
            await send({"content": piece}, None)
        await send({}, "stop")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

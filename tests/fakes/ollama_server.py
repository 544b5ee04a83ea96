"""A real Ollama API server on loopback, for the real `ollama` client.

Speaks `POST /api/chat` (JSON with `"stream": false`, NDJSON otherwise — Ollama streams by default),
`GET /api/tags` and `GET /api/version`. Scripts, recording, latency, failures and the adversarial
mode come from `ScriptedLLMServer`.

    async with FakeOllamaServer() as srv:
        model = OllamaChatModel("llama3.2", host=srv.url)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.openai_server import Adversary, ScriptedLLMServer, stream_pieces

__all__ = ["Adversary", "FakeOllamaServer"]


class FakeOllamaServer(ScriptedLLMServer):
    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/chat", self._chat)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/version", self._version)

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "0.6.0"})

    async def _tags(self, request: web.Request) -> web.Response:
        names = self.models or ("llama3.2:latest",)
        return web.json_response({"models": [
            {"name": n, "model": n, "modified_at": "2025-01-01T00:00:00Z", "size": 1, "digest": "0" * 64,
             "details": {"format": "gguf", "family": "llama", "parameter_size": "3B",
                         "quantization_level": "Q4_K_M"}} for n in names]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        rec = await self.record(request)
        if not self.authorised(rec):
            return web.json_response({"error": "unauthorized"}, status=401)
        failure = self.take_failure()
        if failure:
            status, headers = failure
            return web.json_response({"error": f"injected failure {status}"}, status=status, headers=headers)
        model = rec.json.get("model", "")
        if self.models is not None and model not in self.models and f"{model}:latest" not in self.models:
            return web.json_response({"error": f"model '{model}' not found"}, status=404)
        text = self.next_reply(rec)

        def part(content: str, done: bool) -> dict[str, Any]:
            out: dict[str, Any] = {"model": model, "created_at": datetime.now(UTC).isoformat(),
                                   "message": {"role": "assistant", "content": content}, "done": done}
            if done:
                out.update(done_reason="stop", total_duration=1, load_duration=1, prompt_eval_count=10,
                           prompt_eval_duration=1, eval_count=len(text.split()), eval_duration=1)
            return out

        if rec.json.get("stream") is False:
            return web.json_response(part(text, True))
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        for piece in stream_pieces(text):
            await resp.write((json.dumps(part(piece, False), ensure_ascii=False) + "\n").encode())
        await resp.write((json.dumps(part("", True)) + "\n").encode())
        await resp.write_eof()
        return resp

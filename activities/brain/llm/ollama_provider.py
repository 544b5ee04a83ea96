"""Ollama's native chat API (`/api/chat`) through the official async client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import ollama

from activities.brain.llm import usage
from activities.brain.llm.base import config_error, error_for_status, unavailable

if TYPE_CHECKING:
    from neuroseller.settings import Settings


class OllamaChatModel:
    """`ollama.AsyncClient`; it has no retries of its own, so Temporal's policy is the only one."""

    provider = "ollama"

    def __init__(self, model: str, *, host: str | None = None, timeout: float = 30.0,
                 options: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        self.model = model
        self.options = options
        self._client = ollama.AsyncClient(host=host, timeout=timeout, headers=headers)

    @classmethod
    def from_settings(cls, settings: Settings) -> OllamaChatModel:
        return cls(settings.llm_model, host=settings.ollama_host, timeout=settings.llm_timeout_seconds)

    async def complete(self, messages: list[dict[str, str]]) -> str:
        try:
            resp = await self._client.chat(model=self.model, messages=messages, stream=False,
                                           options=self.options)
        except ollama.ResponseError as e:  # status -1 (an error mid-stream) maps to retryable
            raise error_for_status(e.status_code, str(e.error)) from e
        except ollama.RequestError as e:  # pragma: no cover - older clients, e.g. for an empty model name
            raise config_error(f"ollama request: {e.error}") from e
        except httpx.TimeoutException as e:
            raise unavailable(f"timeout: {e!r}") from e
        except (ConnectionError, httpx.TransportError) as e:
            raise unavailable(f"connection error: {e}") from e
        usage.add(resp.prompt_eval_count, resp.eval_count)
        text = resp.message.content if resp.message else None
        if not text or not text.strip():
            raise unavailable("empty completion")
        return text

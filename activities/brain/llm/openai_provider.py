"""Any OpenAI-compatible chat server: OpenAI, vLLM, LM Studio, llama.cpp, Ollama's `/v1`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import openai

from activities.brain.llm import usage
from activities.brain.llm.base import config_error, error_for_status, unavailable

if TYPE_CHECKING:
    from neuroseller.settings import Settings

# Local servers ignore the key, but the client refuses to start without one.
PLACEHOLDER_KEY = "not-needed"


def _is_openai(base_url: str | None) -> bool:
    return not base_url or "api.openai.com" in base_url


class OpenAIChatModel:
    """Chat Completions with the SDK's retries off (`max_retries=0`): Temporal owns retries."""

    provider = "openai"

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 30.0, temperature: float | None = None, max_tokens: int | None = None):
        if not api_key:
            if _is_openai(base_url):
                raise ValueError("OPENAI_API_KEY is required for api.openai.com (or set OPENAI_BASE_URL)")
            api_key = PLACEHOLDER_KEY
        self.model = model
        # temperature/max_tokens are sent only when set: reasoning models reject non-default values.
        self._extra: dict[str, float | int] = {}
        if temperature is not None:
            self._extra["temperature"] = temperature
        if max_tokens is not None:
            self._extra["max_tokens"] = max_tokens
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIChatModel:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return cls(settings.llm_model, base_url=settings.openai_base_url, api_key=key,
                   timeout=settings.llm_timeout_seconds)

    async def complete(self, messages: list[dict[str, str]]) -> str:
        try:
            resp = await self._client.chat.completions.create(
                model=self.model, messages=messages, **self._extra)  # type: ignore[arg-type]
        except openai.APIStatusError as e:
            raise error_for_status(e.status_code, e.message, e.response.headers) from e
        except openai.APITimeoutError as e:
            raise unavailable(f"timeout: {e}") from e
        except openai.APIConnectionError as e:
            raise unavailable(f"connection error: {e}") from e
        except openai.APIResponseValidationError as e:  # pragma: no cover - a broken server, not ours
            raise unavailable(f"invalid response: {e}") from e
        except openai.OpenAIError as e:  # pragma: no cover - client-side misuse, e.g. bad arguments
            raise config_error(f"client error: {e}") from e
        if resp.usage is not None:
            usage.add(resp.usage.prompt_tokens, resp.usage.completion_tokens)
        text = resp.choices[0].message.content if resp.choices else None
        if not text or not text.strip():
            raise unavailable("empty completion")
        return text

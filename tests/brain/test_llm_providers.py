"""Providers against real protocol servers on loopback: the real openai/ollama clients, never patched."""

from __future__ import annotations

import socket
from datetime import timedelta
from decimal import Decimal
from email.utils import formatdate
from time import time

import ollama
import openai
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError

from activities.brain.llm import ChatModel, generate_draft, make_model
from activities.brain.llm.base import clean_completion, error_for_status, retry_after_seconds
from activities.brain.llm.ollama_provider import OllamaChatModel
from activities.brain.llm.openai_provider import PLACEHOLDER_KEY, OpenAIChatModel
from neuroseller.settings import Settings
from tests.fakes.ollama_server import FakeOllamaServer
from tests.fakes.openai_server import FakeOpenAIServer, facts_reply, last_user_text
from workflows.types import ItemFact, ReplyRequest

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "привет"}]


def openai_model(srv: FakeOpenAIServer, timeout: float = 5.0, **kw: object) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-4o-mini", base_url=srv.base_url, api_key="sk-test-key-0123456789abcdef",
                           timeout=timeout, **kw)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def expect_error(model: ChatModel, kind: str, retryable: bool) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        await model.complete(MESSAGES)
    assert info.value.type == kind
    assert info.value.non_retryable is (not retryable)
    return info.value


# ---- OpenAI-compatible ---------------------------------------------------------------------------


async def test_openai_completes_and_sends_the_key_once() -> None:
    async with FakeOpenAIServer(script=["Здравствуйте! Что ищете?"]) as srv:
        assert await openai_model(srv).complete(MESSAGES) == "Здравствуйте! Что ищете?"
        assert len(srv.requests) == 1
        rec = srv.requests[0]
        assert rec.authorization == "Bearer sk-test-key-0123456789abcdef"
        assert rec.json["messages"] == MESSAGES and rec.json["model"] == "gpt-4o-mini"
        assert "temperature" not in rec.json  # reasoning models reject it; sent only when configured


async def test_openai_sends_temperature_and_max_tokens_when_configured() -> None:
    async with FakeOpenAIServer() as srv:
        await openai_model(srv, temperature=0.2, max_tokens=300).complete(MESSAGES)
        assert srv.requests[0].json["temperature"] == 0.2 and srv.requests[0].json["max_tokens"] == 300


async def test_openai_local_server_without_key_uses_placeholder() -> None:
    async with FakeOpenAIServer(script=["ok?"]) as srv:
        model = OpenAIChatModel("local", base_url=srv.base_url)
        assert await model.complete(MESSAGES) == "ok?"
        assert srv.requests[0].authorization == f"Bearer {PLACEHOLDER_KEY}"


def test_openai_itself_without_key_is_a_setup_error() -> None:
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        OpenAIChatModel("gpt-4o-mini", base_url=None, api_key=None)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_openai_config_errors_are_not_retried(status: int) -> None:
    async with FakeOpenAIServer() as srv:
        srv.fail_next(status)
        err = await expect_error(openai_model(srv), "LLMConfigError", retryable=False)
        assert str(status) in str(err)
        assert len(srv.requests) == 1  # the SDK's own retries are off


async def test_openai_wrong_key_is_config_error() -> None:
    async with FakeOpenAIServer(api_key="sk-right") as srv:
        await expect_error(openai_model(srv), "LLMConfigError", retryable=False)


async def test_openai_missing_model_is_config_error() -> None:
    async with FakeOpenAIServer(models=("llama-3",)) as srv:
        err = await expect_error(openai_model(srv), "LLMConfigError", retryable=False)
        assert "404" in str(err)


async def test_openai_rate_limit_retries_after_the_servers_delay() -> None:
    async with FakeOpenAIServer() as srv:
        srv.fail_next(429, headers={"Retry-After": "7"})
        err = await expect_error(openai_model(srv), "LLMUnavailable", retryable=True)
        assert err.next_retry_delay == timedelta(seconds=7)
        assert len(srv.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_openai_server_errors_are_retryable(status: int) -> None:
    async with FakeOpenAIServer() as srv:
        srv.fail_next(status, n=2)
        model = openai_model(srv)
        await expect_error(model, "LLMUnavailable", retryable=True)
        await expect_error(model, "LLMUnavailable", retryable=True)
        assert await model.complete(MESSAGES)  # the third call (Temporal's retry) succeeds


async def test_openai_timeout_is_retryable() -> None:
    async with FakeOpenAIServer(delay_seconds=1.0) as srv:
        err = await expect_error(openai_model(srv, timeout=0.2), "LLMUnavailable", retryable=True)
        assert "timeout" in str(err)


async def test_openai_connection_refused_is_retryable() -> None:
    model = OpenAIChatModel("m", base_url=f"http://127.0.0.1:{closed_port()}/v1", timeout=2)
    err = await expect_error(model, "LLMUnavailable", retryable=True)
    assert "connection" in str(err)


async def test_openai_empty_completion_is_retryable() -> None:
    async with FakeOpenAIServer(script=["   "]) as srv:
        await expect_error(openai_model(srv), "LLMUnavailable", retryable=True)


async def test_fake_openai_server_streams_sse_to_the_raw_client() -> None:
    async with FakeOpenAIServer(script=["Палатка в наличии. Оформим заказ?"]) as srv:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="sk-x", max_retries=0)
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        assert len(pieces) > 3 and "".join(pieces) == "Палатка в наличии. Оформим заказ?"
        models = await client.models.list()
        assert [m.id for m in models.data] == ["gpt-4o-mini"]
        assert srv.requests[0].json["stream"] is True


async def test_fake_server_script_callable_and_default_reply() -> None:
    async with FakeOpenAIServer(script=lambda body: "echo: " + last_user_text(body)) as srv:
        assert await openai_model(srv).complete(MESSAGES) == "echo: привет"
    async with FakeOpenAIServer() as srv:  # no script: a well-behaved reply from the FACTS table
        assert await openai_model(srv).complete(MESSAGES) == "Здравствуйте! Подскажите, что вы ищете?"
    system = "Reply language: English\n| SKU | name |\n| T-1 | Tent |"
    assert facts_reply({"messages": [{"role": "system", "content": system}]}) == (
        "{name:T-1} is {price:T-1}, {stock:T-1}. Shall I place the order?")
    no_facts = {"messages": [{"role": "system", "content": "Reply language: English"}]}
    assert facts_reply(no_facts).startswith("Hello")


async def test_fake_openai_server_rejects_a_request_without_messages() -> None:
    async with FakeOpenAIServer() as srv:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="sk-x", max_retries=0)
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="m", messages=[])


# ---- Ollama --------------------------------------------------------------------------------------


def ollama_model(srv: FakeOllamaServer, timeout: float = 5.0, **kw: object) -> OllamaChatModel:
    return OllamaChatModel("llama3.2", host=srv.url, timeout=timeout, **kw)  # type: ignore[arg-type]


async def test_ollama_completes_without_streaming() -> None:
    async with FakeOllamaServer(script=["Hello! What are you looking for?"]) as srv:
        model = ollama_model(srv, options={"temperature": 0.2})
        assert await model.complete(MESSAGES) == "Hello! What are you looking for?"
        body = srv.requests[0].json
        assert body["stream"] is False and body["model"] == "llama3.2"
        assert body["options"]["temperature"] == 0.2


async def test_ollama_missing_model_is_config_error() -> None:
    async with FakeOllamaServer(models=("qwen2.5:latest",)) as srv:
        err = await expect_error(ollama_model(srv), "LLMConfigError", retryable=False)
        assert "not found" in str(err)


async def test_ollama_known_model_by_short_name() -> None:
    async with FakeOllamaServer(models=("llama3.2:latest",), script=["ok?"]) as srv:
        assert await ollama_model(srv).complete(MESSAGES) == "ok?"


@pytest.mark.parametrize(("status", "kind", "retryable"), [
    (400, "LLMConfigError", False), (401, "LLMConfigError", False), (429, "LLMUnavailable", True),
    (500, "LLMUnavailable", True), (503, "LLMUnavailable", True)])
async def test_ollama_error_mapping(status: int, kind: str, retryable: bool) -> None:
    async with FakeOllamaServer() as srv:
        srv.fail_next(status)
        await expect_error(ollama_model(srv), kind, retryable)


async def test_ollama_auth_header_and_unauthorised() -> None:
    async with FakeOllamaServer(api_key="olk-1", script=["hi?"]) as srv:
        await expect_error(ollama_model(srv), "LLMConfigError", retryable=False)
        model = ollama_model(srv, headers={"Authorization": "Bearer olk-1"})
        assert await model.complete(MESSAGES) == "hi?"


async def test_ollama_timeout_and_refused_connection_are_retryable() -> None:
    async with FakeOllamaServer(delay_seconds=1.0) as srv:
        await expect_error(ollama_model(srv, timeout=0.2), "LLMUnavailable", retryable=True)
    refused = OllamaChatModel("m", host=f"http://127.0.0.1:{closed_port()}", timeout=2)
    await expect_error(refused, "LLMUnavailable", retryable=True)


async def test_ollama_empty_completion_is_retryable() -> None:
    async with FakeOllamaServer(script=[""]) as srv:
        await expect_error(ollama_model(srv), "LLMUnavailable", retryable=True)


async def test_fake_ollama_server_streams_ndjson_to_the_raw_client() -> None:
    async with FakeOllamaServer(script=["Палатка в наличии. Оформим заказ?"]) as srv:
        client = ollama.AsyncClient(host=srv.url)
        stream = await client.chat(model="m", messages=MESSAGES, stream=True)
        pieces = [part.message.content async for part in stream]
        assert len(pieces) > 3 and "".join(pieces) == "Палатка в наличии. Оформим заказ?"
        assert [m.model for m in (await client.list()).models] == ["llama3.2:latest"]
        assert (await client._request_raw("GET", "/api/version")).json()["version"]


# ---- wiring --------------------------------------------------------------------------------------


def test_make_model_per_provider() -> None:
    assert make_model(Settings(_env_file=None, llm_provider="rules")) is None
    oa = make_model(Settings(_env_file=None, llm_provider="openai", openai_base_url="http://127.0.0.1:1/v1",
                             openai_api_key=SecretStr("sk-abc"), llm_model="qwen"))
    assert isinstance(oa, OpenAIChatModel) and oa.model == "qwen" and oa.provider == "openai"
    ol = make_model(Settings(_env_file=None, llm_provider="ollama", ollama_host="http://127.0.0.1:1",
                             llm_model="llama3.2"))
    assert isinstance(ol, OllamaChatModel) and ol.provider == "ollama"
    assert isinstance(ol, ChatModel)


async def test_generate_draft_returns_slot_text_provider_and_skus() -> None:
    fact = ItemFact(sku="TENT-2", name="Палатка", price=Decimal(1))
    req = ReplyRequest(lead_id="l", text="палатка?", matches=[fact])
    reply = "<think>hmm</think>{name:TENT-2} — {price:tent-2}, {total}. Оформим?"
    async with FakeOpenAIServer(script=[reply]) as srv:
        draft = await generate_draft(req, openai_model(srv))
    assert draft.text == "{name:TENT-2} — {price:tent-2}, {total}. Оформим?"
    assert draft.provider == "openai" and draft.skus == ["TENT-2"]
    system = srv.requests[0].json["messages"][0]["content"]
    assert "| TENT-2 |" in system


async def test_generate_draft_with_only_reasoning_is_retryable() -> None:
    async with FakeOllamaServer(script=["<think>the customer wants"]) as srv:
        with pytest.raises(ApplicationError) as info:
            await generate_draft(ReplyRequest(lead_id="l", text="hi"), ollama_model(srv))
    assert info.value.type == "LLMUnavailable" and not info.value.non_retryable


def test_clean_completion_drops_reasoning_and_delimiters() -> None:
    assert clean_completion("<think>x</think> Hi </customer_message>?") == "Hi ?"
    assert clean_completion(None) == ""


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    date = retry_after_seconds({"Retry-After": formatdate(time() + 30, usegmt=True)})
    assert date is not None and 25 < date <= 30
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None
    assert error_for_status(429, "x", {"Retry-After": "999"}).next_retry_delay == timedelta(seconds=120)
    assert error_for_status(408, "x").non_retryable is False
    assert error_for_status(413, "x").non_retryable is True

"""Real calls on loopback: a PJSUA2 caller (its own process) dials the gateway over SIP with G.711,
plays speech made by festival / espeak-ng, and hears the seller's answer — through Silero VAD,
faster-whisper, the real LeadWorkflow on the Temporal dev server, the renderer's voice mode and TTS."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator

import pytest

from activities.channels.voice.store import VoiceStore
from activities.crm import make_sinks
from activities.crm.activity import CrmActivities
from activities.profiles import ProfileStore
from catalog.loader import load_csv
from catalog.speech import money_words
from tests.conftest import SAMPLE_CATALOG
from tests.voice.conftest import sip_call, voice_settings
from workers.voice_gateway import VoiceGateway, open_gateway
from workflows.types import LeadState

CATALOG = load_csv(SAMPLE_CATALOG)
TENT = CATALOG.get("TENT-2P")


@pytest.fixture(scope="module")
def settings(voice_db, tmp_path_factory):
    return voice_settings(voice_db, tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="module")
async def gateway(temporal_env, settings, voice_db, engines) -> AsyncIterator[VoiceGateway]:
    from workers.worker import build_worker

    crm = CrmActivities(make_sinks(settings, voice_db))
    async with build_worker(temporal_env.client, settings, catalog=lambda: CATALOG,
                            profiles=ProfileStore(settings.profiles_dir),
                            extra_activities=[crm.persist_lead, crm.sink_names]), \
            open_gateway(settings, temporal_env.client, engines, store=VoiceStore(voice_db)) as gw:
        yield gw
    await crm.close()


def target(gw: VoiceGateway) -> str:
    return f"sip:shop@127.0.0.1:{gw.phone.port}"


async def finished(gw: VoiceGateway, n: int, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if len(gw.finished) >= n and not gw.sessions:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(gw.finished)} calls finished, {len(gw.sessions)} still open")


async def lead_state(temporal_env, lead_id: str) -> LeadState:
    return await temporal_env.client.get_workflow_handle(lead_id).query("state", result_type=LeadState)


async def test_caller_asks_a_price_in_russian_and_hears_the_catalog_price(temporal_env, gateway, phrases,
                                                                          voice_db, tmp_path) -> None:
    back = tmp_path / "answer.wav"
    before = len(gateway.finished)
    report = await sip_call(target(gateway), phrases["ru_tent"], caller="+79120000011", record=back,
                            listen_ms=2500)
    await finished(gateway, before + 1)
    call = gateway.finished[-1]

    assert report["connected"] and report["phrases"][0]["latency_ms"] is not None
    assert report["phrases"][0]["answer_ms"] > 1000, "the answer was heard on the caller's side"
    lead_id = "lead-phone-+79120000011"
    assert call.lead_id == lead_id and call.phrases == 1
    assert "палатк" in call.transcript.lower()
    said = call.transcript.split("Магазин:")[-1]
    assert "7 990" in said, "the lead's reply named the catalog's promo price"
    spoken = money_words(TENT.effective_price, "RUB", "ru")
    assert spoken == "семь тысяч девятьсот девяносто рублей"

    state = await lead_state(temporal_env, lead_id)
    assert state.channel == "phone" and state.customer.phone == "+79120000011"
    assert state.calls[-1].call_id == call.call_id and state.calls[-1].recording_path
    assert "палатк" in state.transcript[0].text.lower()
    with wave.open(call.recording_path) as w:
        assert w.getnchannels() == 2 and w.getnframes() > 16_000
    assert back.stat().st_size > 16_000 * 2

    rows = await VoiceStore(voice_db).calls(lead_id)
    assert [r.call_id for r in rows] == [call.call_id] and rows[0].duration_s > 1
    for _ in range(100):
        lead = await voice_db.get_lead(lead_id)
        if lead is not None and lead.dialogue_link:
            break
        await asyncio.sleep(0.1)
    assert lead is not None and lead.phone == "+79120000011" and lead.dialogue_link == call.recording_path


async def test_english_caller_is_understood_and_answered_in_english(temporal_env, gateway, phrases) -> None:
    settings = gateway.settings
    gateway.settings = settings.model_copy(update={"voice_language": "en"})
    try:
        before = len(gateway.finished)
        report = await sip_call(target(gateway), phrases["en_tent"], caller="+79120000012", listen_ms=1500)
        await finished(gateway, before + 1)
    finally:
        gateway.settings = settings
    call = gateway.finished[-1]
    assert report["phrases"][0]["first_answer"] is not None
    assert "tent" in call.transcript.lower()
    assert "7,990" in call.transcript.split("Магазин:")[-1]
    state = await lead_state(temporal_env, call.lead_id)
    assert state.language == "en"


async def test_hang_up_mid_answer_leaves_the_lead_consistent(temporal_env, gateway, phrases, voice_db) -> None:
    before = len(gateway.finished)
    report = await sip_call(target(gateway), phrases["ru_tent"], caller="+79120000013", hang_up_after_ms=300)
    await finished(gateway, before + 1)
    call = gateway.finished[-1]
    assert report["phrases"][0].get("hung_up_mid_answer")
    assert call.end_reason == "caller" and call.phrases == 1
    state = await lead_state(temporal_env, call.lead_id)
    assert state.turns == 1 and [e.role for e in state.transcript] == ["customer", "bot"]
    assert state.calls[-1].call_id == call.call_id
    # the lead takes the next call as a continuation
    report = await sip_call(target(gateway), phrases["ru_lamp"], caller="+79120000013", listen_ms=1000)
    await finished(gateway, before + 2)
    state = await lead_state(temporal_env, call.lead_id)
    assert state.turns == 2 and len(state.calls) == 2


async def test_a_known_customer_s_call_goes_to_their_telegram_lead(temporal_env, gateway, phrases,
                                                                    voice_db) -> None:
    from datetime import UTC, datetime

    from workflows.types import LeadRecord

    await voice_db.write_batch(_batch(LeadRecord(
        lead_id="lead-tg-5550001", workflow_id="lead-tg-5550001", channel="tg", chat_id="5550001",
        phone="+79120000014", created_at=datetime.now(UTC), updated_at=datetime.now(UTC))))
    before = len(gateway.finished)
    await sip_call(target(gateway), phrases["ru_tent"], caller="+79120000014", listen_ms=1000)
    await finished(gateway, before + 1)
    call = gateway.finished[-1]
    assert call.lead_id == "lead-tg-5550001"
    state = await lead_state(temporal_env, "lead-tg-5550001")
    assert state.channel == "tg" and state.turns == 1


def _batch(lead):
    from workflows.types import PersistBatch

    return PersistBatch(lead=lead)


async def test_silence_gets_one_prompt_then_a_goodbye_and_the_bot_hangs_up(temporal_env, gateway) -> None:
    settings = gateway.settings
    gateway.settings = settings.model_copy(update={"voice_silence_seconds": 1.5})
    try:
        before = len(gateway.finished)
        report = await sip_call(target(gateway), caller="+79120000015", linger=25)
        await finished(gateway, before + 1)
    finally:
        gateway.settings = settings
    call = gateway.finished[-1]
    assert call.end_reason == "bot" and report["remote_hung_up"]
    said = call.transcript
    assert said.count("вы меня слышите") == 1 and "До свидания" in said
    assert call.phrases == 0


async def test_caller_speaking_over_the_answer_barges_in_and_is_answered(temporal_env, gateway, phrases) -> None:
    before = len(gateway.finished)
    report = await sip_call(target(gateway), phrases["ru_tent"], phrases["ru_lamp"], caller="+79120000016",
                            listen_ms=1200)
    await finished(gateway, before + 1)
    session = gateway.ended[-1]
    assert len(report["phrases"]) == 2 and report["phrases"][1]["first_answer"] is not None
    assert session.barge_ins >= 1, "the second phrase interrupted the first answer"
    assert session.stt.phrase == 2
    state = await lead_state(temporal_env, gateway.finished[-1].lead_id)
    assert state.turns == 2 and "есть" in state.transcript[2].text.lower()


async def test_outbound_call_requested_by_the_workflow_reaches_the_customer(temporal_env, gateway, phrases) -> None:
    """`request_call` → `place_call` on the voice queue → the gateway dials the customer's (loopback) phone."""
    from workers.client import lead_input, send_message
    from workers.devserver import free_port
    from workflows.types import CallRequest, IncomingMessage

    inp = lead_input(gateway.settings, channel="local", chat_id="callback-1")
    await send_message(temporal_env.client, inp, IncomingMessage(text="Перезвоните мне", message_id="cb1"))
    port = free_port()
    phone = asyncio.create_task(sip_call("", phrases["ru_tent"], caller="+79120000021", answer_on=port,
                                         listen_ms=1000))
    await asyncio.sleep(1.0)  # the phone is up
    before = len(gateway.finished)
    await temporal_env.client.get_workflow_handle(inp.state.lead_id).signal(
        "request_call", CallRequest(phone=f"sip:+79120000021@127.0.0.1:{port}",
                                    task_queue=gateway.settings.voice_task_queue))
    report = await phone
    await finished(gateway, before + 1)
    call = gateway.finished[-1]
    assert report["connected"] and report["phrases"][0]["first_answer"] is not None
    assert call.direction == "outbound" and call.lead_id == inp.state.lead_id and call.phrases == 1
    state = await lead_state(temporal_env, inp.state.lead_id)
    assert state.turns == 2 and "палатк" in state.transcript[2].text.lower()
    assert state.calls[-1].direction == "outbound"


async def test_pressing_zero_calls_a_manager_over_mu_law(temporal_env, gateway) -> None:
    before = len(gateway.finished)
    report = await sip_call(target(gateway), caller="+79120000022", dtmf="0", listen_ms=1500, codec="PCMU/8000")
    await finished(gateway, before + 1)
    call = gateway.finished[-1]
    assert report["dtmf_answered"] and "[DTMF 0]" in call.transcript
    state = await lead_state(temporal_env, call.lead_id)
    assert state.escalated and state.escalations[-1].reason == "human_request"

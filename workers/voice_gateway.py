"""`neuroseller voice`: the process that owns the calls (SIP, and the browser page) and the speech models.

Inbound: every phrase the caller finishes becomes update-with-start `message` (kind `voice`, update
id = call id + phrase number) on the caller's lead — `lead-phone-<E.164>`, or the Telegram lead when
the CRM knows the number — so the same understanding, policy, guard, CRM writes and escalation apply;
the reply comes back in the update's result and is spoken sentence by sentence. When the call ends,
its record (times, recording, transcript) goes to the CRM's `calls` table and to the lead
(`call_ended` signal). Outbound: a Temporal worker on queue `voice` runs `place_call` here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.channels.voice.session import CallConfig, CallSession, TurnReply, VoiceEngines
from activities.channels.voice.store import VoiceStore
from activities.profiles import ProfileStore
from neuroseller.pii import normalize_phone
from neuroseller.settings import Settings
from workflows.types import CallRecord, CallRequest, CallResult, Customer, IncomingMessage, LeadInput, TurnResult

log = logging.getLogger(__name__)

Deliver = Callable[[Client, LeadInput, IncomingMessage], Awaitable[TurnResult]]
RETRYABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED)


def load_engines(settings: Settings) -> VoiceEngines:
    """VAD, STT and TTS, once per process (a few seconds; the calls share them)."""
    from activities.channels.voice.stt import WhisperSTT, packaged_model
    from activities.channels.voice.tts import make_tts
    from activities.channels.voice.vad import SileroModel

    model: Path | str = settings.voice_stt_model
    packaged = packaged_model(settings.voice_stt_model, settings.var_dir / "models")
    if packaged is not None:
        model = packaged
    elif not Path(settings.voice_stt_model).exists() and "/" in settings.voice_stt_model:
        raise RuntimeError(f"VOICE_STT_MODEL: no faster-whisper model at {settings.voice_stt_model}")
    stt = WhisperSTT(model, device=settings.voice_stt_device, compute_type=settings.voice_stt_compute_type,
                     cpu_threads=settings.voice_stt_threads)
    piper = {}
    for part in filter(None, (p.strip() for p in settings.voice_piper_voices.split(","))):
        lang, _, path = part.partition("=")
        piper[lang.strip()] = Path(path.strip())
    tts = make_tts(settings.voice_tts, piper_voices=piper, coqui_model=settings.voice_coqui_model,
                   device=settings.voice_stt_device)
    return VoiceEngines(vad=SileroModel(), stt=stt, tts=tts)


async def warm_up(engines: VoiceEngines) -> None:
    """The first inference of each model is slow (allocation, kernels): pay it before the first call."""
    import numpy as np

    await engines.stt.transcribe(np.zeros(16_000, dtype=np.float32), "ru")
    for lang in ("ru", "en"):
        with contextlib.suppress(Exception):
            await engines.tts.synthesize("Да.", lang)


async def _default_deliver(client: Client, inp: LeadInput, msg: IncomingMessage) -> TurnResult:
    from workers.client import send_message  # imports the workflow; only the gateway process needs it

    return await send_message(client, inp, msg)


class VoiceGateway:
    """Calls in and out over SIP (and the browser page), each a `CallSession` tied to a lead."""

    def __init__(self, settings: Settings, temporal: Client, engines: VoiceEngines, *,
                 store: VoiceStore | None = None, deliver: Deliver | None = None) -> None:
        self.settings = settings
        self.temporal = temporal
        self.engines = engines
        self.store = store
        self.deliver = deliver or _default_deliver
        self.profiles = ProfileStore(settings.profiles_dir)
        self.sessions: dict[str, CallSession] = {}
        self.finished: list[CallRecord] = []
        self.ended: list[CallSession] = []  # the last calls' sessions, for their timings (benchmark, tests)
        self.phone = None
        self.web_port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start_sip(self) -> int:
        from activities.channels.voice.sip import SipConfig, SipPhone

        s = self.settings
        self.loop = asyncio.get_running_loop()
        config = SipConfig(bind=s.sip_bind, port=s.sip_port, public_address=s.sip_public_address, user=s.sip_user,
                           domain=s.sip_domain, registrar=s.sip_registrar, proxy=s.sip_proxy,
                           auth_user=s.sip_auth_user,
                           password=s.sip_password.get_secret_value() if s.sip_password else "",
                           codecs=[c for c in s.sip_codecs.split(",") if c.strip()], rtp_port=s.sip_rtp_port)
        self.phone = SipPhone(config, on_incoming=self._on_incoming)
        await asyncio.to_thread(self.phone.start)
        log.info("voice gateway: SIP on %s:%s (user %s)", s.sip_bind, self.phone.port, s.sip_user)
        return self.phone.port

    async def stop(self) -> None:
        for session in list(self.sessions.values()):
            await self._end(session, "shutdown")
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.phone is not None:
            await asyncio.to_thread(self.phone.stop)
            self.phone = None

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- leads --------------------------------------------------------------------------------

    async def lead_for(self, phone: str) -> LeadInput:
        """The caller's lead: their Telegram (or other) lead when the CRM knows the number, else a phone lead."""
        from workers.client import lead_input

        s = self.settings
        known = None
        if self.store is not None and phone.startswith("+"):
            try:
                known = await self.store.lead_for_phone(phone)
            except Exception:  # PostgreSQL down: the call still goes to a (phone) lead
                log.exception("could not look the caller up in the CRM")
        customer = Customer(phone=phone if phone.startswith("+") else None)
        if phone.startswith("web:"):  # a browser visitor without a number
            return lead_input(s, channel="web", chat_id=phone[4:], customer=customer)
        if known is not None:
            lead_id, channel, chat_id = known
            queue = s.telegram_task_queue if channel == "tg" else None
            return lead_input(s, channel=channel, chat_id=chat_id, customer=customer, workflow_id=lead_id,
                              outbound_queue=queue,
                              operators_queue=queue if channel == "tg" and s.telegram_operators_chat else None)
        return lead_input(s, channel="phone", chat_id=phone, customer=customer)

    def language_for(self, inp: LeadInput) -> str:
        if self.settings.voice_language in ("ru", "en"):
            return self.settings.voice_language
        return self.profiles.resolve(inp.state.profile_name, inp.state.chat_id).default_language

    async def turn(self, inp: LeadInput, call_id: str, text: str, phrase: int) -> TurnReply:
        """One phrase → the lead's `message` update; retried while Temporal is unreachable."""
        msg = IncomingMessage(text=text, message_id=f"{call_id}:{phrase}", kind="voice", spoken=True,
                              customer=inp.state.customer, sent_at=datetime.now(UTC))
        delay = 0.2
        while True:
            try:
                result = await self.deliver(self.temporal, inp, msg)
                return TurnReply(result.replies, language=result.language, silent=result.silent)
            except RPCError as e:
                if e.status not in RETRYABLE or delay > 5:
                    raise
                log.warning("Temporal unavailable (%s); retrying phrase %s of %s", e, phrase, call_id)
                await asyncio.sleep(delay)
                delay *= 2

    # ---- calls --------------------------------------------------------------------------------

    def _config(self, call_id: str, language: str) -> CallConfig:
        s = self.settings
        recording = None
        if s.voice_record:
            day = datetime.now(UTC).strftime("%Y-%m-%d")
            recording = (s.var_dir / "calls" / day / f"{call_id}.wav").resolve()
        return CallConfig(language=language, greeting=s.voice_greeting_en if language == "en" else s.voice_greeting_ru,
                          end_of_turn_ms=s.voice_end_of_turn_ms, speculative=s.voice_speculative,
                          silence_s=s.voice_silence_seconds, recording=recording)

    async def open_session(self, call_id: str, number: str, *, transport: str, direction: str = "inbound",
                           hang_up: Callable[[], None] | None = None, inp: LeadInput | None = None) -> CallSession:
        inp = inp or await self.lead_for(number)
        language = self.language_for(inp)

        async def deliver(text: str, phrase: int) -> TurnReply:
            return await self.turn(inp, call_id, text, phrase)

        session = CallSession(call_id, number, self.engines, deliver, self._config(call_id, language),
                              hang_up=hang_up, direction=direction)
        session.lead_id = inp.state.lead_id
        session.transport = transport
        self.sessions[call_id] = session
        return session

    def _on_incoming(self, call) -> None:
        """PJSIP thread: an INVITE arrived. The session is prepared on the event loop, then answered."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(lambda: self._spawn(self._answer(call)))

    async def _answer(self, call) -> None:
        from activities.channels.voice.sip import CallHandlers, caller_number

        raw = caller_number(call.remote)
        number = normalize_phone(raw) or raw
        call_id = call.key
        try:
            session = await self.open_session(call_id, number, transport="sip",
                                              hang_up=lambda: self.phone.hang_up(call))
        except Exception:
            log.exception("could not prepare call %s", call_id)
            self.phone.answer(call, 503)
            return
        loop = asyncio.get_running_loop()

        def gone(reason: str) -> None:
            loop.call_soon_threadsafe(lambda: self._spawn(self._end(session, "caller" if not session.end_reason
                                                                     else session.end_reason)))

        handlers = CallHandlers(audio=session.feed_threadsafe, pull=session.pull, disconnected=gone,
                                dtmf=lambda d: loop.call_soon_threadsafe(lambda: self._spawn(self._dtmf(session, d))))

        def attach() -> None:
            call.handlers = handlers

        await self.phone.acall(attach)
        await asyncio.wrap_future(self.phone.answer(call, 200))
        await session.start()
        log.info("call %s from %s answered (lead %s)", call_id, number, session.lead_id)

    async def _dtmf(self, session: CallSession, digit: str) -> None:
        """Keypad: 0 asks for a person (as if said), other digits are noted in the call's transcript."""
        from activities.channels.voice.session import CallLine

        session.lines.append(CallLine("customer", f"[DTMF {digit}]"))
        if digit == "0":
            text = "Connect me to a manager" if session.language == "en" else "Соедините с менеджером"
            session.stt.phrase += 1
            from activities.channels.voice.frames import Transcript

            await session.turns.process(Transcript(text=text, phrase=session.stt.phrase, speech_end=0.0))

    async def end_call(self, session: CallSession, reason: str) -> None:
        await self._end(session, reason)

    async def _end(self, session: CallSession, reason: str) -> None:
        if self.sessions.pop(session.call_id, None) is None:
            return
        await session.close(reason)
        self.ended = [*self.ended, session][-50:]
        record = CallRecord(
            call_id=session.call_id, lead_id=session.lead_id, direction=session.direction,
            phone=session.caller if session.caller.startswith("+") else None, transport=session.transport,
            started_at=session.started_at, ended_at=session.ended_at, duration_s=round(session.duration_s, 2),
            end_reason=session.end_reason, phrases=session.stt.phrase,
            recording_path=str(session.config.recording) if session.config.recording else None,
            transcript=session.transcript_text())
        self.finished.append(record)
        await self._save(record)

    async def _save(self, record: CallRecord) -> None:
        """The call record to the CRM and to the lead; neither failure may lose the other."""
        if self.store is not None:
            try:
                await self.store.save_call(record)
            except Exception:
                log.exception("could not write call %s to the CRM", record.call_id)
        if record.phrases:  # a call with no phrase never created the lead: nothing to attach it to
            try:
                await self.temporal.get_workflow_handle(record.lead_id).signal("call_ended", record)
            except RPCError:
                log.exception("could not attach call %s to %s", record.call_id, record.lead_id)

    # ---- outbound (activity on the `voice` queue) ----------------------------------------------

    @activity.defn(name="place_call")
    async def place_call(self, req: CallRequest) -> CallResult:
        """Dial the customer; the call then runs like an inbound one, on the same lead."""
        from activities.channels.voice.sip import CallHandlers

        if self.phone is None:
            return CallResult(ok=False, reason="SIP is not running")
        from workers.client import lead_input

        number = normalize_phone(req.phone) or req.phone
        lead_id = activity.info().workflow_id
        call_id = f"out-{lead_id}-{activity.info().activity_id}"
        if call_id in self.sessions:
            return CallResult(ok=True, call_id=call_id)  # a retried activity: the call is already up
        _, channel, chat_id = ([*lead_id.split("-", 2), "", ""])[:3]
        inp = lead_input(self.settings, channel=channel or "phone", chat_id=chat_id or number, workflow_id=lead_id,
                         customer=Customer(phone=number if number.startswith("+") else None))
        holder: dict = {}
        session = await self.open_session(call_id, number, transport="sip", direction="outbound", inp=inp,
                                          hang_up=lambda: self.phone.hang_up(holder["call"]))
        if req.language in ("ru", "en"):
            session.language = req.language
        loop = asyncio.get_running_loop()
        handlers = CallHandlers(
            audio=session.feed_threadsafe, pull=session.pull,
            connected=lambda: loop.call_soon_threadsafe(lambda: self._spawn(session.start())),
            disconnected=lambda reason: loop.call_soon_threadsafe(
                lambda: self._spawn(self._end(session, session.end_reason or "caller"))))
        holder["call"] = await asyncio.wrap_future(self.phone.dial(self.phone.number_uri(number), handlers))
        return CallResult(ok=True, call_id=call_id)


@contextlib.asynccontextmanager
async def open_gateway(settings: Settings, client: Client, engines: VoiceEngines, *,
                       store: VoiceStore | None = None, deliver: Deliver | None = None,
                       sip: bool = True) -> AsyncIterator[VoiceGateway]:
    """A gateway with SIP listening and its `voice` worker running; calls ended and recorded on exit."""
    gateway = VoiceGateway(settings, client, engines, store=store, deliver=deliver)
    if sip:
        await gateway.start_sip()
    web = None
    if settings.webrtc_port is not None:
        from activities.channels.voice.webrtc import WebRTCServer, pin_ice_addresses

        pin_ice_addresses([a.strip() for a in settings.webrtc_ice_addresses.split(",") if a.strip()])
        web = WebRTCServer(gateway, settings.webrtc_host, settings.webrtc_port)
        gateway.web_port = await web.start()
        log.info("voice gateway: \"call the shop\" page on http://%s:%s/", settings.webrtc_host, gateway.web_port)
    try:
        async with Worker(client, task_queue=settings.voice_task_queue, activities=[gateway.place_call]):
            yield gateway
    finally:
        await gateway.stop()  # calls end as `shutdown` before their peer connections close
        if web is not None:
            await web.stop()


async def run_gateway(settings: Settings, client: Client | None = None, *, database=None) -> None:
    """Run until cancelled (`neuroseller voice`, `neuroseller up` with VOICE_ENABLED)."""
    from activities.crm.db.database import Database

    if client is None:
        from workers.client import connect

        client = await connect(settings.temporal_address or f"localhost:{settings.temporal_port}",
                               settings.temporal_namespace)
    owns_db = database is None and settings.database_url is not None
    if owns_db:
        database = Database(settings.database_url.get_secret_value())
    if database is not None:
        await database.migrate()
    engines = await asyncio.to_thread(load_engines, settings)
    await warm_up(engines)
    try:
        async with open_gateway(settings, client, engines, store=VoiceStore(database) if database else None):
            print("voice gateway running; Ctrl-C stops it.", flush=True)
            await asyncio.Event().wait()
    finally:
        await engines.tts.close()
        if owns_db:
            await database.close()


_BESIDE: set[asyncio.Task] = set()


def start_beside(settings: Settings, client: Client, database=None) -> asyncio.Task:
    """`neuroseller up`: the gateway as a task of the same process, cancelled when `up` ends."""
    task = asyncio.create_task(run_gateway(settings, client=client, database=database))
    _BESIDE.add(task)
    task.add_done_callback(_BESIDE.discard)
    return task


# ---- CLI ---------------------------------------------------------------------------------------


async def voice_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        await run_gateway(settings)
    except RuntimeError as err:
        print(f"neuroseller voice: {err}", file=sys.stderr)
        return 2
    return 0  # pragma: no cover - runs until cancelled


def register(subparsers) -> None:
    """`neuroseller voice`: the voice gateway (SIP + speech models + queue `voice`)."""
    parser = subparsers.add_parser("voice", help="run the voice gateway (SIP/WebRTC calls, queue `voice`)")
    parser.set_defaults(func=voice_command)

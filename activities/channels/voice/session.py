"""One call: the pipeline (VAD → STT → the lead's turn → TTS → playback), barge-in, silence, recording.

Transport-agnostic: a SIP or WebRTC transport feeds 20 ms of the caller's 16 kHz audio with
`feed()` and takes 20 ms to send with `pull()` (from its own media thread), and is told to hang up
through the `hang_up` callback. Everything else happens on the gateway's event loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from activities.channels.voice.audio import FRAME_BYTES, frames_of, write_wav
from activities.channels.voice.frames import (
    AudioIn,
    AudioOut,
    Frame,
    FrameProcessor,
    HangUp,
    Interrupt,
    Pipeline,
    Speak,
    SpeechStarted,
    Transcript,
    TurnEnded,
)
from activities.channels.voice.stt import STTProcessor, WhisperSTT
from activities.channels.voice.tts import TTS, TTSProcessor
from activities.channels.voice.vad import SileroModel, VADProcessor
from catalog.speech import sentences, speakable

log = logging.getLogger(__name__)

SILENCE = b"\0" * FRAME_BYTES

LINES = {
    "ru": {"are_you_there": "Алло, вы меня слышите?",
           "goodbye": "Не слышу вас. Перезвоните, пожалуйста, когда будет удобно. До свидания!",
           "trouble": "Секунду, уточняю. Менеджер перезвонит вам в ближайшее время."},
    "en": {"are_you_there": "Hello, are you still there?",
           "goodbye": "I can't hear you. Please call back when it suits you. Goodbye!",
           "trouble": "One moment, I'm checking. A manager will call you back shortly."},
}


@dataclass
class TurnReply:
    """What the lead workflow answered to one phrase."""

    replies: list[str]
    language: str = "ru"
    silent: bool = False  # a human owns the lead: the bot says nothing


Deliver = Callable[[str, int], Awaitable[TurnReply]]


@dataclass
class VoiceEngines:
    """Models loaded once per process and shared by every call."""

    vad: SileroModel
    stt: WhisperSTT
    tts: TTS


@dataclass
class CallConfig:
    language: str = "ru"  # the profile's or the lead's; the first phrase is transcribed in it
    greeting: str = ""  # said when the call is answered (includes the recording consent line)
    pause_ms: int = 150
    end_of_turn_ms: int = 500
    speculative: bool = True
    silence_s: float = 8.0
    barge_in: bool = True
    recording: Path | None = None


@dataclass
class PhraseTiming:
    """Where the time between the caller's last word and the answer's first packet went."""

    phrase: int
    speech_end: float = 0.0
    turn_end: float = 0.0
    stt_ms: float = 0.0
    speculative: bool = False
    workflow_ms: float = 0.0
    tts_first_ms: float = 0.0
    answer_queued: float = 0.0
    first_packet: float = 0.0

    @property
    def total_ms(self) -> float:
        return (self.first_packet - self.speech_end) * 1000 if self.first_packet else 0.0

    def parts(self) -> dict[str, float]:
        end_wait = (self.turn_end - self.speech_end) * 1000
        wire = (self.first_packet - self.answer_queued) * 1000 if self.first_packet else 0.0
        return {"end_of_turn": end_wait, "stt": self.stt_ms, "workflow": self.workflow_ms,
                "tts_first": self.tts_first_ms, "to_wire": wire, "total": self.total_ms}


@dataclass
class CallLine:
    role: str  # customer | bot
    text: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class TurnProcessor(FrameProcessor):
    """Transcript → the lead's turn → Speak frames, sentence by sentence, written for the ear.

    Barge-in: SpeechStarted while the answer is playing becomes an Interrupt frame. The turn itself
    is not undone — the workflow already holds it, as a person's words cannot be unsaid.
    """

    def __init__(self, session: CallSession) -> None:
        super().__init__()
        self.session = session
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, SpeechStarted) and self.session.config.barge_in and self.session.bot_speaking():
            self.session.barge_ins += 1
            await self.push(Interrupt())
        elif isinstance(frame, TurnEnded):
            self.session.turn_ends.append(frame.at)
        elif isinstance(frame, Transcript):
            task = asyncio.create_task(self._answer(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        await self.push(frame)

    async def _answer(self, t: Transcript) -> None:
        s = self.session
        timing = s.timing(t.phrase)
        timing.speech_end, timing.stt_ms, timing.speculative = t.speech_end, t.stt_ms, t.speculative
        timing.turn_end = next((at for at in s.turn_ends if at >= t.speech_end), t.at)
        s.lines.append(CallLine("customer", t.text))
        async with self._lock:
            started = time.monotonic()
            try:
                reply = await s.deliver(t.text, t.phrase)
            except Exception:  # Temporal down past the gateway's retries: say so rather than go quiet
                log.exception("call %s: phrase %s was not answered", s.call_id, t.phrase)
                reply = TurnReply([LINES[s.language].get("trouble", "")], language=s.language)
            timing.workflow_ms = (time.monotonic() - started) * 1000
            s.language = reply.language if reply.language in LINES else s.language
            if reply.silent or not reply.replies:
                return
            spoken = [speakable(r, s.language) for r in reply.replies]
            s.lines.append(CallLine("bot", " ".join(reply.replies)))
            pieces = [p for text in spoken for p in sentences(text)]
            timing.answer_queued = 0.0
            for i, piece in enumerate(pieces):
                await self.push(Speak(text=piece, phrase=t.phrase, last=i == len(pieces) - 1))

    def busy(self) -> bool:
        return bool(self._tasks)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class Playback(FrameProcessor):
    """The end of the pipeline: AudioOut cut into 20 ms packets for the transport's media thread.

    `pull()` runs on that thread; the first packet of each answer stamps the latency clock.
    """

    def __init__(self, session: CallSession) -> None:
        super().__init__()
        self.session = session
        self._frames: collections.deque[tuple[bytes, int]] = collections.deque()
        self._lock = threading.Lock()
        self._hang_up_after = False

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioOut):
            packets = frames_of(frame.pcm) or [SILENCE]
            with self._lock:
                for i, p in enumerate(packets):
                    self._frames.append((p, frame.phrase if frame.first and i == 0 else 0))
            if frame.first:
                self.session.timing(frame.phrase).answer_queued = time.monotonic()
                ms = self.session.tts.first_chunk_ms.get(-frame.phrase)
                if ms is not None:
                    self.session.timing(frame.phrase).tts_first_ms = ms
        elif isinstance(frame, Interrupt):
            with self._lock:
                self._frames.clear()
        elif isinstance(frame, HangUp):
            self._hang_up_after = True
        await self.push(frame)

    def speaking(self) -> bool:
        return bool(self._frames)

    def pull(self) -> bytes:
        with self._lock:
            if not self._frames:
                pcm, phrase = SILENCE, 0
            else:
                pcm, phrase = self._frames.popleft()
        if phrase:
            self.session.timing(phrase).first_packet = time.monotonic()
        if self._hang_up_after and not self._frames:
            self._hang_up_after = False
            self.session.request_hang_up("bot")
        return pcm


class CallSession:
    """A call from answer to hang-up; `summary()` is what lands on the lead and in the CRM."""

    def __init__(self, call_id: str, caller: str, engines: VoiceEngines, deliver: Deliver, config: CallConfig, *,
                 hang_up: Callable[[], None] | None = None, direction: str = "inbound") -> None:
        self.call_id = call_id
        self.caller = caller
        self.direction = direction
        self.deliver = deliver
        self.config = config
        self.language = config.language
        self.hang_up_cb = hang_up
        self.loop = asyncio.get_running_loop()
        self.vad = VADProcessor(engines.vad, pause_ms=config.pause_ms, end_ms=config.end_of_turn_ms)
        self.stt = STTProcessor(engines.stt, lambda: self.language, speculative=config.speculative)
        self.turns = TurnProcessor(self)
        self.tts = TTSProcessor(engines.tts, lambda: self.language)
        self.playback = Playback(self)
        self.pipeline = Pipeline([self.vad, self.stt, self.turns, self.tts, self.playback])
        self.timings: dict[int, PhraseTiming] = {}
        self.turn_ends: list[float] = []
        self.lines: list[CallLine] = []
        self.barge_ins = 0
        self.started_at = datetime.now(UTC)
        self.ended_at: datetime | None = None
        self.end_reason = ""
        self.ended = asyncio.Event()
        self.started = False
        self.lead_id = ""
        self.transport = "sip"
        self._inbox: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()
        self._rec_in: list[bytes] = []
        self._rec_out: list[bytes] = []
        self._tasks: list[asyncio.Task] = []
        self._prompts = 0

    def timing(self, phrase: int) -> PhraseTiming:
        return self.timings.setdefault(phrase, PhraseTiming(phrase))

    def bot_speaking(self) -> bool:
        return self.playback.speaking()

    # ---- transport side (any thread) ----------------------------------------------------------

    def feed_threadsafe(self, pcm: bytes) -> None:
        """From the media thread; stamped on arrival, so a busy event loop does not shift the timings."""
        self.loop.call_soon_threadsafe(self._inbox.put_nowait, (pcm, time.monotonic()))

    def pull(self) -> bytes:
        pcm = self.playback.pull()
        if self.config.recording is not None:
            self._rec_out.append(pcm)
        return pcm

    def request_hang_up(self, reason: str) -> None:
        self.end_reason = self.end_reason or reason
        if self.hang_up_cb is not None:
            self.hang_up_cb()

    # ---- event loop side ----------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._feed()), asyncio.create_task(self._watch_silence())]
        if self.config.greeting:
            await self.say(self.config.greeting)

    async def say(self, text: str, *, then_hang_up: bool = False) -> None:
        self.lines.append(CallLine("bot", text))
        pieces = sentences(speakable(text, self.language)) or [text]
        for i, piece in enumerate(pieces):
            await self.tts.process(Speak(text=piece, phrase=0, last=i == len(pieces) - 1,
                                         then_hang_up=then_hang_up))

    async def feed(self, pcm: bytes) -> None:
        await self._inbox.put((pcm, time.monotonic()))

    async def _feed(self) -> None:
        while (item := await self._inbox.get()) is not None:
            pcm, at = item
            if self.config.recording is not None:
                self._rec_in.append(pcm)
            await self.pipeline.process(AudioIn(pcm=pcm, at=at))

    async def _watch_silence(self) -> None:
        """"Are you there?" once after `silence_s` of nobody speaking, then a polite goodbye."""
        quiet_since, heard = time.monotonic(), 0.0
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            if (self.vad.in_turn or self.bot_speaking() or self.tts.busy() or self.turns.busy()
                    or self.stt._pending):
                quiet_since = now
                continue
            if self.vad.last_speech != heard:  # the caller answered: the next silence starts afresh
                heard, self._prompts = self.vad.last_speech, 0
            if now - quiet_since < self.config.silence_s:
                continue
            quiet_since = now
            self._prompts += 1
            if self._prompts == 1:
                await self.say(LINES[self.language]["are_you_there"])
            else:
                await self.say(LINES[self.language]["goodbye"], then_hang_up=True)
                return

    async def close(self, reason: str = "caller") -> None:
        """The call is over (either side hung up): stop the pipeline, write the recording."""
        if self.ended.is_set():
            return
        self.end_reason = self.end_reason or reason
        self.ended_at = datetime.now(UTC)
        self._inbox.put_nowait(None)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pipeline.close()
        if self.config.recording is not None:
            self._write_recording(self.config.recording)
        self.ended.set()

    def _write_recording(self, path: Path) -> None:
        """Stereo WAV: the caller on the left, the shop on the right, in step (both clocked by the bridge)."""
        n = max(len(self._rec_in), len(self._rec_out))
        left = np.frombuffer(b"".join(self._rec_in).ljust(n * FRAME_BYTES, b"\0"), dtype="<i2")
        right = np.frombuffer(b"".join(self._rec_out).ljust(n * FRAME_BYTES, b"\0"), dtype="<i2")
        stereo = np.stack([left, right], axis=1).astype("<i2").tobytes()
        write_wav(path, stereo, channels=2)

    def transcript_text(self) -> str:
        return "\n".join(f"{'Клиент' if line.role == 'customer' else 'Магазин'}: {line.text}" for line in self.lines)

    @property
    def duration_s(self) -> float:
        end = self.ended_at or datetime.now(UTC)
        return (end - self.started_at).total_seconds()

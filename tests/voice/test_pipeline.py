"""The call pipeline one processor at a time, frames in and frames out, with real audio and models."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from activities.channels.voice.audio import FRAME_BYTES, frames_of, read_wav, resample, rms, to_float, to_pcm
from activities.channels.voice.frames import (
    AudioIn,
    AudioOut,
    Collect,
    HangUp,
    Interrupt,
    Pipeline,
    Speak,
    SpeechPaused,
    SpeechStarted,
    Transcript,
    TurnEnded,
)
from activities.channels.voice.session import CallConfig, CallSession, TurnReply
from activities.channels.voice.stt import STTProcessor
from activities.channels.voice.tts import EspeakTTS, TTSProcessor
from activities.channels.voice.vad import VADProcessor

SILENCE = b"\0" * FRAME_BYTES


async def speech(tts, text: str, lang: str = "ru") -> bytes:
    return await tts.synthesize(text, lang)


async def feed(pipeline, pcm: bytes, *, start: float, silence_ms: int = 800) -> float:
    """Feed 20 ms frames stamped as if they arrived in real time; returns the stamp after the last one."""
    t = start
    for frame in frames_of(pcm) + [SILENCE] * (silence_ms // 20):
        await pipeline.process(AudioIn(pcm=frame, at=t))
        t += 0.02
    return t


async def test_vad_marks_start_pause_and_end_of_a_phrase(vad_model, tts) -> None:
    pcm = await speech(tts, "Сколько стоит палатка?")
    out = Collect()
    vad = VADProcessor(vad_model, pause_ms=150, end_ms=500)
    await feed(Pipeline([vad, out]), SILENCE * 10 + pcm, start=100.0)
    events = [f for f in out.frames if not isinstance(f, AudioIn)]
    kinds = [type(f) for f in events]
    assert kinds[0] is SpeechStarted and kinds[-1] is TurnEnded and SpeechPaused in kinds
    end = events[-1]
    assert 0.45 <= end.at - end.speech_end <= 0.6, "the turn ends ~500 ms after the last speech"
    speech_len = len(pcm) / 32000
    assert abs((end.speech_end - 100.2) - speech_len) < 0.4, "the phrase end is where the audio's speech ends"


async def test_vad_ignores_silence_and_low_noise(vad_model) -> None:
    rng = np.random.default_rng(1)
    noise = to_pcm(rng.normal(0, 0.003, 16000).astype(np.float32))
    out = Collect()
    await feed(Pipeline([VADProcessor(vad_model), out]), noise, start=0.0)
    assert not out.of(SpeechStarted) and not out.of(TurnEnded)


async def test_speculative_transcript_is_used_when_the_caller_stays_silent(vad_model, stt, tts) -> None:
    pcm = await speech(tts, "Сколько стоит палатка на двоих?")
    out = Collect()
    proc = STTProcessor(stt, lambda: "ru")
    await feed(Pipeline([VADProcessor(vad_model), proc, out]), pcm, start=0.0)
    for _ in range(200):
        if out.of(Transcript):
            break
        await asyncio.sleep(0.02)
    [t] = out.of(Transcript)
    assert "палатк" in t.text.lower() and t.phrase == 1 and t.speculative and proc.dropped == 0


async def test_speculative_transcript_is_dropped_when_speech_resumes(vad_model, stt, tts) -> None:
    first = await speech(tts, "Палатка на двоих")
    second = await speech(tts, "и коврик")
    out = Collect()
    proc = STTProcessor(stt, lambda: "ru")
    pipeline = Pipeline([VADProcessor(vad_model, end_ms=700), proc, out])
    t = await feed(pipeline, first, start=0.0, silence_ms=300)  # a pause, not the end of the turn
    await feed(pipeline, second, start=t)
    for _ in range(300):
        if out.of(Transcript):
            break
        await asyncio.sleep(0.02)
    [t] = out.of(Transcript)
    assert proc.dropped == 1, "the guess made at the pause was thrown away"
    assert "коврик" in t.text.lower() and "палатк" in t.text.lower()


async def test_without_speculation_the_phrase_is_transcribed_at_the_turn_end(vad_model, stt, tts) -> None:
    pcm = await speech(tts, "Здравствуйте")
    out = Collect()
    proc = STTProcessor(stt, lambda: "ru", speculative=False)
    await feed(Pipeline([VADProcessor(vad_model), proc, out]), pcm, start=0.0)
    await proc.idle()
    [t] = out.of(Transcript)
    assert not t.speculative and t.text


async def test_tts_speaks_sentences_in_order_and_an_interrupt_drops_the_rest() -> None:
    out = Collect()
    proc = TTSProcessor(EspeakTTS(), lambda: "en")
    Pipeline([proc, out])
    for i, text in enumerate(["One.", "Two.", "Three."]):
        await proc.process(Speak(text=text, phrase=1, last=i == 2))
    for _ in range(200):
        if len(out.of(AudioOut)) == 3:
            break
        await asyncio.sleep(0.01)
    audio = out.of(AudioOut)
    assert [a.first for a in audio] == [True, False, False] and audio[-1].last
    assert all(rms(a.pcm) > 0.01 for a in audio)
    for text in ["Four.", "Five.", "Six.", "Seven."]:
        await proc.process(Speak(text=text, phrase=2, last=False))
    await proc.process(Interrupt())
    await asyncio.sleep(0.3)
    assert len(out.of(AudioOut)) <= 4 and out.of(Interrupt) and not proc.busy()
    await proc.process(Speak(text="Bye.", phrase=3, then_hang_up=True))
    for _ in range(200):
        if out.of(HangUp):
            break
        await asyncio.sleep(0.01)
    assert out.of(HangUp)


@pytest.fixture
def answers():
    said: list[tuple[str, int]] = []

    async def deliver(text: str, phrase: int) -> TurnReply:
        said.append((text, phrase))
        return TurnReply(["Палатка «Трек 2» — 7 990 ₽. Оформить заказ?"], language="ru")

    return said, deliver


async def run_call(session: CallSession, pcm: bytes, *, until, timeout: float = 20.0) -> list[bytes]:
    """Play `pcm` into the session in real time while pulling its output like a media thread would."""
    heard: list[bytes] = []
    stop = asyncio.Event()

    async def media_clock() -> None:
        while not stop.is_set():
            heard.append(session.pull())
            await asyncio.sleep(0.02)

    clock = asyncio.create_task(media_clock())
    for frame in frames_of(pcm):
        await session.feed(frame)
        await asyncio.sleep(0.02)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until():
        await session.feed(SILENCE)
        await asyncio.sleep(0.02)
    stop.set()
    await clock
    return heard


async def test_a_phrase_is_answered_in_speech_with_the_price_in_words(engines, tts, answers, tmp_path) -> None:
    said, deliver = answers
    pcm = await speech(tts, "Сколько стоит палатка на двоих?")
    rec = tmp_path / "call.wav"
    session = CallSession("t1", "+79120000099", engines, deliver, CallConfig(greeting="Алло!", recording=rec))
    await session.start()
    answered = time.monotonic() + 100

    def done() -> bool:
        nonlocal answered
        if session.timing(1).first_packet and answered > time.monotonic() + 10:
            answered = time.monotonic() + 1.5
        return time.monotonic() > answered

    heard = await run_call(session, pcm, until=done)
    await session.close()
    assert said and "палатк" in said[0][0].lower() and said[0][1] == 1
    assert sum(1 for p in heard if rms(p) > 0.01) > 50, "the greeting and the answer were played"
    timing = session.timings[1]
    parts = timing.parts()
    assert timing.first_packet > timing.speech_end and parts["total"] > 0 and parts["stt"] >= 0
    assert any(line.role == "bot" and "7 990" in line.text for line in session.lines)
    samples, rate = read_wav(rec)
    assert rate == 16000 and samples.size > 16000


async def test_silence_prompts_once_then_says_goodbye_and_hangs_up(engines, answers) -> None:
    _, deliver = answers
    hung: list[bool] = []
    session = CallSession("t2", "+79120000098", engines, deliver, CallConfig(silence_s=0.6),
                          hang_up=lambda: hung.append(True))
    await session.start()
    await run_call(session, b"", until=lambda: bool(hung))
    await session.close()
    bot = [line.text for line in session.lines if line.role == "bot"]
    assert bot[0] == "Алло, вы меня слышите?" and "До свидания" in bot[1] and len(bot) == 2
    assert hung and session.end_reason == "bot"


def test_audio_helpers_round_trip() -> None:
    x = np.sin(np.linspace(0, 100, 8000)).astype(np.float32) * 0.5
    y = resample(x, 8000)
    assert y.size == 16000 and abs(float(np.abs(y).max()) - 0.5) < 0.01
    assert np.allclose(to_float(to_pcm(x)), x, atol=1e-4)
    assert frames_of(b"\1" * 700)[-1].endswith(b"\0") and rms(b"") == 0.0

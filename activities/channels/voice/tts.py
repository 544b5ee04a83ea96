"""Text-to-speech behind one interface, one class per engine.

`espeak-ng` and `festival` (Debian packages; `festvox-ru` for Russian) are the offline default in
Russian and English; Piper (voice files from settings) and Coqui (`coqui-tts`, an extra for hosts
with its models and a GPU) are optional. Every engine returns 16 kHz PCM for one sentence; the
processor synthesises sentence by sentence so the first one plays while the rest are made.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Protocol

from activities.channels.voice.audio import read_wav, resample, to_pcm
from activities.channels.voice.frames import AudioOut, Frame, FrameProcessor, HangUp, Interrupt, Speak

log = logging.getLogger(__name__)


class TTS(Protocol):
    name: str

    async def synthesize(self, text: str, language: str) -> bytes:
        """16 kHz mono PCM of `text`."""
        ...

    async def close(self) -> None: ...


class EspeakTTS:
    """espeak-ng: a formant voice, instant (a few ms a sentence), every language."""

    name = "espeak"

    def __init__(self, *, rate_wpm: int = 165, voices: dict[str, str] | None = None) -> None:
        self.binary = shutil.which("espeak-ng") or shutil.which("espeak")
        if self.binary is None:
            raise RuntimeError("espeak-ng is not installed: apt-get install espeak-ng")
        self.rate_wpm = rate_wpm
        self.voices = voices or {"ru": "ru", "en": "en-us"}

    async def synthesize(self, text: str, language: str) -> bytes:
        proc = await asyncio.create_subprocess_exec(
            self.binary, "-v", self.voices.get(language, language), "-s", str(self.rate_wpm), "--stdout", text,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await proc.communicate()
        samples, rate = read_wav(out)
        return to_pcm(resample(samples, rate))

    async def close(self) -> None:
        return None


class FestivalTTS:
    """Festival kept running (`festival --pipe`): loading a voice takes ~0.6 s, a sentence ~50–300 ms.

    One process per language voice, one sentence at a time each (a lock); the commands are Scheme
    and the text is escaped for a Scheme string.
    """

    name = "festival"
    DONE = b"::done::"

    def __init__(self, voices: dict[str, str] | None = None) -> None:
        if shutil.which("festival") is None:
            raise RuntimeError("festival is not installed: apt-get install festival festvox-ru")
        self.voices = voices or {"ru": "voice_msu_ru_nsh_clunits", "en": "voice_kal_diphone"}
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._dir = Path(tempfile.mkdtemp(prefix="neuroseller-festival-"))
        self._n = 0

    async def _command(self, proc: asyncio.subprocess.Process, scheme: str) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(scheme.encode() + b'\n(format t "::done::\\n")\n(fflush nil)\n')
        await proc.stdin.drain()
        await proc.stdout.readuntil(self.DONE + b"\n")

    async def _proc(self, language: str) -> asyncio.subprocess.Process:
        proc = self._procs.get(language)
        if proc is None or proc.returncode is not None:
            proc = await asyncio.create_subprocess_exec(
                "festival", "--pipe", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL)
            await self._command(proc, f"({self.voices.get(language, self.voices['ru'])})")
            self._procs[language] = proc
        return proc

    async def warm(self, *languages: str) -> None:
        for lang in languages:
            async with self._locks.setdefault(lang, asyncio.Lock()):
                await self._proc(lang)

    async def synthesize(self, text: str, language: str) -> bytes:
        lang = language if language in self.voices else "ru"
        self._n += 1
        path = self._dir / f"s{self._n}.wav"
        quoted = text.replace("\\", " ").replace('"', " ")
        async with self._locks.setdefault(lang, asyncio.Lock()):
            proc = await self._proc(lang)
            await self._command(proc, f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{path}" (quote riff))')
        try:
            samples, rate = read_wav(path)
        finally:
            path.unlink(missing_ok=True)
        return to_pcm(resample(samples, rate))

    async def close(self) -> None:
        for proc in self._procs.values():
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        self._procs.clear()
        shutil.rmtree(self._dir, ignore_errors=True)


class MixedTTS:
    """Festival for Russian (espeak-ng's Russian is hard to follow on a phone), espeak-ng for English."""

    name = "festival+espeak"

    def __init__(self) -> None:
        self.ru = FestivalTTS()
        self.en = EspeakTTS()

    async def synthesize(self, text: str, language: str) -> bytes:
        return await (self.en if language == "en" else self.ru).synthesize(text, language)

    async def close(self) -> None:
        await self.ru.close()


class PiperTTS:  # pragma: no cover - needs piper-tts and a voice file, absent on CI
    """Piper (`pip install piper-tts`): neural voices from `.onnx` files named in PIPER_VOICES."""

    name = "piper"

    def __init__(self, voices: dict[str, Path]) -> None:
        from piper import PiperVoice

        self.voices = {lang: PiperVoice.load(str(path)) for lang, path in voices.items()}

    async def synthesize(self, text: str, language: str) -> bytes:
        voice = self.voices.get(language) or next(iter(self.voices.values()))

        def run() -> bytes:
            import numpy as np

            chunks = [c.audio_float_array for c in voice.synthesize(text)]
            samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
            return to_pcm(resample(samples, voice.config.sample_rate))

        return await asyncio.to_thread(run)

    async def close(self) -> None:
        return None


class CoquiTTS:  # pragma: no cover - needs coqui-tts, torch and a model, absent on CI
    """Coqui (`pip install coqui-tts`): XTTS/VITS models from a local path; worth it on a GPU."""

    name = "coqui"

    def __init__(self, model_path: Path, *, device: str = "cpu") -> None:
        from TTS.api import TTS as Coqui

        self.tts = Coqui(model_path=str(model_path), config_path=str(model_path / "config.json")).to(device)
        self.rate = self.tts.synthesizer.output_sample_rate

    async def synthesize(self, text: str, language: str) -> bytes:
        import numpy as np

        def run() -> bytes:
            wav = np.asarray(self.tts.tts(text=text, language=language), dtype=np.float32)
            return to_pcm(resample(wav, self.rate))

        return await asyncio.to_thread(run)

    async def close(self) -> None:
        return None


def make_tts(engine: str, *, piper_voices: dict[str, Path] | None = None, coqui_model: Path | None = None,
             device: str = "cpu") -> TTS:
    """The engine named in VOICE_TTS: festival (RU) + espeak-ng (EN) by default."""
    if engine == "espeak":
        return EspeakTTS()
    if engine == "festival":
        return FestivalTTS()
    if engine == "piper":  # pragma: no cover
        return PiperTTS(piper_voices or {})
    if engine == "coqui":  # pragma: no cover
        if coqui_model is None:
            raise RuntimeError("VOICE_COQUI_MODEL is not set")
        return CoquiTTS(coqui_model, device=device)
    return MixedTTS()


class TTSProcessor(FrameProcessor):
    """Speak frames → AudioOut frames, in order, one sentence at a time; Interrupt drops the rest."""

    def __init__(self, tts: TTS, language) -> None:
        super().__init__()
        self.tts = tts
        self.language = language
        self._queue: asyncio.Queue[Speak] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._started_phrase = -1
        self._synthesising = False
        self.first_chunk_ms: dict[int, float] = {}  # phrase → ms from Speak queued to its first audio

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, Speak):
            if self._worker is None or self._worker.done():
                self._worker = asyncio.create_task(self._run())
            self._queue.put_nowait(frame)
            return
        if isinstance(frame, Interrupt):
            self._clear()
        await self.push(frame)

    def busy(self) -> bool:
        return not self._queue.empty() or self._synthesising

    def _clear(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._synthesising = False

    async def _run(self) -> None:
        while True:
            speak = await self._queue.get()
            started = time.monotonic()
            self._synthesising = True
            try:
                pcm = await self.tts.synthesize(speak.text, self.language())
            except Exception:  # a broken sentence must not end the call: say the next one
                log.exception("TTS failed for a sentence")
                pcm = b""
            finally:
                self._synthesising = False
            first = speak.phrase != self._started_phrase
            if first:
                self._started_phrase = speak.phrase
                self.first_chunk_ms[speak.phrase] = (time.monotonic() - speak.at) * 1000
                self.first_chunk_ms[-speak.phrase] = (time.monotonic() - started) * 1000
            await self.push(AudioOut(pcm=pcm, phrase=speak.phrase, first=first, last=speak.last,
                                     then_hang_up=speak.then_hang_up))
            if speak.then_hang_up and speak.last:
                await self.push(HangUp(reason="bot"))

    async def close(self) -> None:
        self._clear()  # the engine itself is shared by every call and closed by the gateway

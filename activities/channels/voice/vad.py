"""Voice activity detection: Silero VAD's ONNX model through onnxruntime, and the processor that turns
its per-window probabilities into speech-started / paused / turn-ended frames.

The model ships inside the `silero-vad` package (installed with `--no-deps`: its dependencies pull
in torch); only the `.onnx` file is used, located without importing the package (which imports torch).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from activities.channels.voice.audio import RATE, to_float
from activities.channels.voice.frames import AudioIn, Frame, FrameProcessor, SpeechPaused, SpeechStarted, TurnEnded

WINDOW = 512  # samples per model call at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the model expects in front of each one


def silero_model_path() -> Path | None:
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    return path if path.exists() else None


class SileroModel:
    """The ONNX session; shared by every call (sessions are thread-safe), state kept per stream."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime as ort

        path = path or silero_model_path()
        if path is None:
            raise RuntimeError("Silero VAD model not found: `pip install --no-deps silero-vad` (make install does)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])

    def stream(self) -> SileroStream:
        return SileroStream(self)


class SileroStream:
    """Speech probability of consecutive 512-sample windows of one call."""

    def __init__(self, model: SileroModel) -> None:
        self.model = model
        self.state = np.zeros((2, 1, 128), dtype=np.float32)
        self.context = np.zeros((1, CONTEXT), dtype=np.float32)
        self.sr = np.array(RATE, dtype=np.int64)

    def prob(self, window: np.ndarray) -> float:
        x = np.concatenate([self.context, window.reshape(1, -1).astype(np.float32)], axis=1)
        out, self.state = self.model.session.run(None, {"input": x, "state": self.state, "sr": self.sr})
        self.context = x[:, -CONTEXT:]
        return float(out[0][0])


class VADProcessor(FrameProcessor):
    """AudioIn → AudioIn plus SpeechStarted / SpeechPaused / TurnEnded.

    Speech starts after `start_ms` of windows above the threshold (a cough or a click does not
    barge in); a pause is reported after `pause_ms` of silence (speculative transcription starts
    there), the turn ends after `end_ms`. The "speech end" carried in the frames is the time of
    the last speech window — where the caller's phrase actually ended.
    """

    def __init__(self, model: SileroModel, *, threshold: float = 0.5, start_ms: int = 96, pause_ms: int = 150,
                 end_ms: int = 500) -> None:
        super().__init__()
        self.stream = model.stream()
        self.threshold = threshold
        self.start_windows = max(1, round(start_ms / 32))
        self.pause_s = pause_ms / 1000
        self.end_s = end_ms / 1000
        self._buf = np.zeros(0, dtype=np.float32)
        self._run = 0  # consecutive speech windows
        self.speaking = False
        self.in_turn = False  # speech seen since the last TurnEnded
        self.last_speech = 0.0
        self._paused = False

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, AudioIn):
            return await self.push(frame)
        await self.push(frame)
        self._buf = np.concatenate([self._buf, to_float(frame.pcm)])
        while self._buf.size >= WINDOW:
            window, self._buf = self._buf[:WINDOW], self._buf[WINDOW:]
            await self._window(self.stream.prob(window), frame.at)

    async def _window(self, p: float, now: float) -> None:
        if p >= self.threshold:
            self._run += 1
            self.last_speech = now
            if not self.speaking and self._run >= self.start_windows:
                self.speaking, self.in_turn, self._paused = True, True, False
                await self.push(SpeechStarted(at=now))
            return
        self._run = 0
        if not self.in_turn:
            return
        silent = now - self.last_speech
        if self.speaking and silent >= self.pause_s - 1e-3:
            self.speaking = False
        if not self._paused and silent >= self.pause_s - 1e-3:
            self._paused = True
            await self.push(SpeechPaused(speech_end=self.last_speech, at=now))
        if silent >= self.end_s - 1e-3:
            self.in_turn = False
            await self.push(TurnEnded(speech_end=self.last_speech, at=now))

    def idle_for(self, now: float | None = None) -> float:
        """Seconds since the caller last spoke (the silence watchdog's clock)."""
        return (now or time.monotonic()) - self.last_speech

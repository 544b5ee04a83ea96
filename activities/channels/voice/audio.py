"""PCM helpers shared by the pipeline: 16-bit mono little-endian, 16 kHz inside the pipeline.

Whisper and Silero both want 16 kHz; the SIP bridge resamples G.711's 8 kHz to it, TTS engines
produce 16–22 kHz and are resampled here. Linear interpolation is enough for speech at these rates.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

RATE = 16_000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2


def to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def to_pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def resample(samples: np.ndarray, src_rate: int, dst_rate: int = RATE) -> np.ndarray:
    if src_rate == dst_rate or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    n = round(samples.size * dst_rate / src_rate)
    x_old = np.arange(samples.size, dtype=np.float64) / src_rate
    x_new = np.arange(n, dtype=np.float64) / dst_rate
    return np.interp(x_new, x_old, samples).astype(np.float32)


def read_wav(data: bytes | Path) -> tuple[np.ndarray, int]:
    """Samples as float32 mono and the file's rate (WAV of 8/16-bit PCM)."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    if raw[:4] == b"RIFF":  # espeak-ng's --stdout header carries no length: fix it so `wave` reads it
        raw = raw[:4] + (len(raw) - 8).to_bytes(4, "little") + raw[8:]
        pos = raw.find(b"data", 12)
        if pos > 0:
            raw = raw[: pos + 4] + (len(raw) - pos - 8).to_bytes(4, "little") + raw[pos + 8:]
    with wave.open(io.BytesIO(raw)) as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        frames = w.readframes(w.getnframes())
    if width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        raise ValueError(f"unsupported WAV sample width {width}")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def write_wav(path: Path, pcm: bytes, rate: int = RATE, channels: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)


def frames_of(pcm: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    """Fixed-size frames, the last one padded with silence."""
    out = [pcm[i:i + size] for i in range(0, len(pcm), size)]
    if out and len(out[-1]) < size:
        out[-1] = out[-1] + b"\0" * (size - len(out[-1]))
    return out


def rms(pcm: bytes) -> float:
    if not pcm:
        return 0.0
    s = to_float(pcm)
    return float(np.sqrt(np.mean(s * s)))

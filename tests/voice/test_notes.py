"""A Telegram voice note (OGG/Opus) is transcribed by the same Whisper model as calls."""

from __future__ import annotations

import io

import numpy as np

from activities.channels.voice.audio import RATE
from activities.channels.voice.notes import VoiceNotes


def ogg_opus(pcm: bytes) -> bytes:
    """Encode 16 kHz PCM as Telegram sends voice notes: Opus in OGG, 48 kHz."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16",
                                           layout="mono")
        frame.sample_rate = RATE
        for resampled in resampler.resample(frame):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


async def test_voice_note_is_transcribed_in_the_lead_language(stt, tts) -> None:
    note = ogg_opus(await tts.synthesize("Сколько стоит палатка на двоих?", "ru"))
    assert note[:4] == b"OggS"
    text = await VoiceNotes(stt).transcribe(note, "ru")
    assert "палатк" in text.lower()

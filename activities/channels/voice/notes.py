"""Telegram voice notes through the same speech-to-text as calls, so they are answered as text.

A note is OGG/Opus (any container PyAV reads works); it is decoded to 16 kHz, transcribed by the
process's one Whisper model and handed to the lead as an ordinary text message.

Hook-up in the Telegram gateway (the process that downloads the note): for a message of kind
`voice`, `text = await notes.transcribe(await msg.download_media(file=bytes), language)` and deliver
`IncomingMessage(kind="text", text=text, ...)` when the text is not empty.
"""

from __future__ import annotations

import asyncio
import io

from activities.channels.voice.audio import RATE
from activities.channels.voice.stt import WhisperSTT

MAX_NOTE_SECONDS = 120  # a longer note is cut: the customer's question is at its start


class VoiceNotes:
    def __init__(self, stt: WhisperSTT) -> None:
        self.stt = stt

    async def transcribe(self, audio: bytes, language: str | None) -> str:
        from faster_whisper.audio import decode_audio

        samples = await asyncio.to_thread(decode_audio, io.BytesIO(audio), RATE)
        return await self.stt.transcribe(samples[: MAX_NOTE_SECONDS * RATE], language)

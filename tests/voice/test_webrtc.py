"""A browser call: an aiortc peer (the browser's side) posts its offer to the gateway's page, ICE
connects on loopback, the visitor's phrase is answered with speech, and the lead is `lead-web-<id>`."""

from __future__ import annotations

import asyncio
import fractions
import time

import aiohttp
import numpy as np
import pytest

from activities.channels.voice.audio import FRAME_BYTES, FRAME_SAMPLES, RATE, frames_of, read_wav, rms, to_pcm
from activities.profiles import ProfileStore
from catalog.loader import load_csv
from tests.conftest import SAMPLE_CATALOG
from tests.voice.conftest import voice_settings
from workers.voice_gateway import open_gateway
from workflows.types import LeadState

aiortc = pytest.importorskip("aiortc", reason="aiortc is not installed (make install)")
CATALOG = load_csv(SAMPLE_CATALOG)


class Microphone(aiortc.MediaStreamTrack):
    """The visitor: silence while the greeting plays, then the phrase, then silence."""

    kind = "audio"

    def __init__(self, pcm: bytes, after_s: float) -> None:
        super().__init__()
        self.frames = [b"\0" * FRAME_BYTES] * int(after_s * 50) + frames_of(pcm)
        self.pts = 0
        self.start: float | None = None
        self.speech_end = 0.0

    async def recv(self):
        import av

        if self.start is None:
            self.start = time.monotonic()
        else:
            self.pts += FRAME_SAMPLES
            await asyncio.sleep(max(0.0, self.start + self.pts / RATE - time.monotonic()))
        pcm = self.frames.pop(0) if self.frames else b"\0" * FRAME_BYTES
        if rms(pcm) > 0.01:
            self.speech_end = time.monotonic()
        frame = av.AudioFrame.from_ndarray(np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self.pts, fractions.Fraction(1, RATE)
        return frame


async def test_browser_visitor_talks_to_the_seller_over_webrtc_on_loopback(temporal_env, voice_db, engines, phrases,
                                                                          tmp_path) -> None:
    from workers.worker import build_worker

    settings = voice_settings(voice_db, tmp_path, webrtc_port=0, webrtc_ice_addresses="127.0.0.1",
                              voice_greeting_ru="Алло!", persist_leads=False)
    samples, _rate = read_wav(phrases["ru_tent"])
    mic = Microphone(to_pcm(samples), after_s=1.5)
    heard: list[tuple[float, float]] = []
    async with build_worker(temporal_env.client, settings, catalog=lambda: CATALOG,
                            profiles=ProfileStore(settings.profiles_dir)), \
            open_gateway(settings, temporal_env.client, engines, sip=False) as gateway:
        pc = aiortc.RTCPeerConnection()
        pc.addTrack(mic)
        listening: list[asyncio.Task] = []

        @pc.on("track")
        def on_track(track) -> None:
            async def listen() -> None:
                while True:
                    frame = await track.recv()
                    heard.append((time.monotonic(), rms(frame.to_ndarray().astype("<i2").tobytes())))

            listening.append(asyncio.ensure_future(listen()))

        await pc.setLocalDescription(await pc.createOffer())
        url = f"http://127.0.0.1:{gateway.web_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/") as page:
                assert "Позвонить в магазин" in await page.text()
            async with http.post(url + "/offer", json={"sdp": pc.localDescription.sdp, "type": "offer",
                                                       "visitor": "v42"}) as res:
                answer = await res.json()
        await pc.setRemoteDescription(aiortc.RTCSessionDescription(**answer))
        for _ in range(600):
            if mic.speech_end and any(at > mic.speech_end + 0.2 and level > 0.01 for at, level in heard):
                break
            await asyncio.sleep(0.05)
        assert pc.connectionState == "connected"
        first = next(at for at, level in heard if at > mic.speech_end + 0.2 and level > 0.01)
        await pc.close()
        for task in listening:
            task.cancel()
        for _ in range(100):
            if gateway.finished:
                break
            await asyncio.sleep(0.05)
        [call] = gateway.finished
        handle = temporal_env.client.get_workflow_handle("lead-web-v42")
        for _ in range(100):
            state = await handle.query("state", result_type=LeadState)
            if state.calls:
                break
            await asyncio.sleep(0.05)
    assert first - mic.speech_end < 10
    assert call.transport == "webrtc" and call.lead_id == "lead-web-v42" and "палатк" in call.transcript.lower()
    assert state.channel == "web" and state.turns == 1 and state.calls[-1].call_id == call.call_id

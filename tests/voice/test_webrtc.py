"""A browser call: an aiortc peer (the browser's side) posts its offer to the gateway's page, ICE
connects on loopback, the visitor's phrase is answered with speech, and the lead is `lead-web-<id>`."""

from __future__ import annotations

import asyncio
import contextlib
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
LISTENERS: set[asyncio.Task] = set()


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


async def browser_call(gateway, pcm: bytes, visitor: str) -> tuple[object, list, Microphone]:
    """Connect an aiortc peer to the gateway's page; returns (peer, heard levels, microphone)."""
    mic = Microphone(pcm, after_s=1.0)
    heard: list[tuple[float, float]] = []
    pc = aiortc.RTCPeerConnection()
    pc.addTrack(mic)

    @pc.on("track")
    def on_track(track) -> None:
        async def listen() -> None:
            with contextlib.suppress(Exception):
                while True:
                    frame = await track.recv()
                    heard.append((time.monotonic(), rms(frame.to_ndarray().astype("<i2").tobytes())))

        LISTENERS.add(asyncio.ensure_future(listen()))  # ends when the peer closes

    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{gateway.web_port}/offer",
            json={"sdp": pc.localDescription.sdp, "type": "offer", "visitor": visitor}) as res:
        answer = await res.json()
    await pc.setRemoteDescription(aiortc.RTCSessionDescription(**answer))
    return pc, heard, mic


async def test_gateway_restarted_mid_call_loses_no_lead(temporal_env, voice_db, engines, phrases, tmp_path) -> None:
    from workers.worker import build_worker

    settings = voice_settings(voice_db, tmp_path, webrtc_port=0, webrtc_ice_addresses="127.0.0.1",
                              voice_greeting_ru="Алло!", persist_leads=False)
    samples, _ = read_wav(phrases["ru_tent"])
    handle = temporal_env.client.get_workflow_handle("lead-web-v77")
    async with build_worker(temporal_env.client, settings, catalog=lambda: CATALOG,
                            profiles=ProfileStore(settings.profiles_dir)):
        async with open_gateway(settings, temporal_env.client, engines, sip=False) as gateway:
            pc, heard, mic = await browser_call(gateway, to_pcm(samples), "v77")
            for _ in range(600):  # the answer has started: the turn is in the lead
                if mic.speech_end and any(at > mic.speech_end + 0.2 and lv > 0.01 for at, lv in heard):
                    break
                await asyncio.sleep(0.05)
        # the gateway is gone mid-answer; the call dropped, its record was written
        await pc.close()
        [call] = gateway.finished
        assert call.end_reason == "shutdown" and call.phrases == 1
        samples2, _ = read_wav(phrases["ru_lamp"])
        async with open_gateway(settings, temporal_env.client, engines, sip=False) as again:
            pc, heard, mic = await browser_call(again, to_pcm(samples2), "v77")
            for _ in range(600):
                state = await handle.query("state", result_type=LeadState)
                if state.turns == 2:
                    break
                await asyncio.sleep(0.05)
            await pc.close()
    assert state.turns == 2 and [c.end_reason for c in state.calls][:1] == ["shutdown"]
    assert "палатк" in state.transcript[0].text.lower()
    assert state.transcript[2].role == "customer" and "есть" in state.transcript[2].text.lower()

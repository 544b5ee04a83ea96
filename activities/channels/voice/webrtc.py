"""WebRTC with aiortc: the "call the shop" page a site visitor talks to the seller from.

The gateway serves the page and takes the browser's SDP offer on `POST /offer`; each peer
connection becomes a `CallSession` like a SIP call: the browser's Opus audio is resampled to 16 kHz
for the pipeline, and the answer goes back as a paced 20 ms track. A visitor's lead is
`lead-web-<visitor id>` (the page keeps the id in localStorage), or the phone lead when the page
sends a phone number.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
import uuid
from collections.abc import Callable

import numpy as np
from aiohttp import web

from activities.channels.voice.audio import FRAME_SAMPLES, RATE

log = logging.getLogger(__name__)


def pin_ice_addresses(addresses: list[str]) -> None:
    """Offer ICE host candidates only on these addresses (aioice skips loopback by default; a server
    with several interfaces usually wants its public one only)."""
    if not addresses:
        return
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(addresses)


def _track_base():
    from aiortc import MediaStreamTrack

    return MediaStreamTrack


class PullTrack(_track_base()):
    """Our side of the call: 20 ms frames from `pull()`, paced in real time like a microphone."""

    kind = "audio"

    def __init__(self, pull: Callable[[], bytes]) -> None:
        super().__init__()
        self.pull = pull
        self._start: float | None = None
        self._pts = 0

    async def recv(self):
        import av

        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        samples = np.frombuffer(self.pull(), dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


async def pump(track, feed: Callable[[bytes], object]) -> None:
    """The browser's audio → 16 kHz mono PCM → `feed`, until the track ends."""
    import av
    from aiortc.mediastreams import MediaStreamError

    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        for out in resampler.resample(frame):
            await feed(out.to_ndarray().tobytes())


PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Позвонить в магазин</title>
<style>body{font:18px system-ui;margin:3em auto;max-width:28em;text-align:center}
button{font-size:1.2em;padding:.6em 1.4em;border-radius:2em;border:0;background:#2a7;color:#fff}
button.off{background:#c33}#s{color:#666;margin-top:1em}</style></head>
<body><h1>Позвонить в магазин</h1><p>Спросите о цене, наличии, оформите заказ — голосом.</p>
<button id="b">📞 Позвонить</button><div id="s"></div><audio id="a" autoplay></audio>
<script>
const b = document.getElementById('b'), s = document.getElementById('s');
let pc = null;
const visitor = localStorage.visitor || (localStorage.visitor = crypto.randomUUID());
b.onclick = async () => {
  if (pc) { pc.close(); pc = null; b.textContent = '📞 Позвонить'; b.className = ''; s.textContent = ''; return; }
  const mic = await navigator.mediaDevices.getUserMedia({audio: true});
  pc = new RTCPeerConnection();
  mic.getTracks().forEach(t => pc.addTrack(t, mic));
  pc.ontrack = e => { document.getElementById('a').srcObject = e.streams[0]; };
  pc.onconnectionstatechange = () => { s.textContent = pc ? pc.connectionState : ''; };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => { if (pc.iceGatheringState === 'complete') r();
    else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
  const res = await fetch('offer', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({sdp: pc.localDescription.sdp, type: pc.localDescription.type, visitor})});
  await pc.setRemoteDescription(await res.json());
  b.textContent = '⏹ Завершить'; b.className = 'off';
};
</script></body></html>"""


class WebRTCServer:
    """The page and the signalling endpoint, on the gateway's event loop."""

    def __init__(self, gateway, host: str = "127.0.0.1", port: int = 0) -> None:
        self.gateway = gateway
        self.host, self.port = host, port
        self.peers: dict[str, object] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        app = web.Application()
        app.router.add_get("/", self.page)
        app.router.add_post("/offer", self.offer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for pc in list(self.peers.values()):
            with contextlib.suppress(Exception):
                await pc.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def offer(self, request: web.Request) -> web.Response:
        from aiortc import RTCPeerConnection, RTCSessionDescription

        body = await request.json()
        visitor = str(body.get("visitor") or uuid.uuid4().hex)[:64]
        call_id = f"web-{uuid.uuid4().hex[:12]}"
        pc = RTCPeerConnection()
        self.peers[call_id] = pc
        who = body.get("phone") or f"web:{visitor}"

        def hang_up() -> None:
            asyncio.get_running_loop().create_task(pc.close())

        session = await self.gateway.open_session(call_id, who, transport="webrtc", hang_up=hang_up)
        pc.addTrack(PullTrack(session.pull))
        pumps: list[asyncio.Task] = []

        @pc.on("track")
        def on_track(track) -> None:
            if track.kind == "audio":
                pumps.append(asyncio.ensure_future(pump(track, session.feed)))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "connected" and not session.started:
                session.started = True
                await session.start()
            elif pc.connectionState in ("failed", "closed"):
                for task in pumps:
                    task.cancel()
                self.peers.pop(call_id, None)
                await self.gateway.end_call(session, session.end_reason or "caller")
                await pc.close()

        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        log.info("browser call %s (visitor %s)", call_id, visitor)
        return web.json_response({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})

"""SIP with PJSIP's Python binding (`pjsua2-python`): register to a trunk, answer and place calls.

PJSUA2 is not thread-safe and allows one endpoint per process, so one `PjRuntime` thread owns it:
every PJSUA2 call runs there (`runtime.call(fn)`), and it polls the SIP stack. The conference
bridge runs at 16 kHz and converts G.711 (A-law/μ-law, 8 kHz) for us; its clock thread (the null
sound device's) drives each call's `MediaPort` — 20 ms of the caller's audio in, 20 ms of ours out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from activities.channels.voice.audio import FRAME_BYTES, RATE

log = logging.getLogger(__name__)


@dataclass
class SipConfig:
    """Where the gateway listens and which trunk it registers to (README: Zadarma, Exolve, Twilio)."""

    bind: str = "127.0.0.1"
    port: int = 5060
    public_address: str = ""  # the address put in Contact/SDP behind NAT; empty = `bind`
    user: str = "shop"
    domain: str = ""  # the trunk's SIP domain; empty = no registration (calls straight to bind:port)
    registrar: str = ""  # sip:sip.zadarma.com
    proxy: str = ""  # outbound proxy, e.g. sip:pbx.example.com;lr
    auth_user: str = ""
    password: str = ""
    codecs: list[str] = field(default_factory=lambda: ["PCMA/8000", "PCMU/8000"])
    rtp_port: int = 0  # first RTP port; 0 = any
    log_level: int = 1


class MediaPort(pj.AudioMediaPort):
    """A call's audio as 16 kHz frames: `on_audio(pcm)` gets the caller's, `pull()` gives ours."""

    def __init__(self, on_audio: Callable[[bytes], None], pull: Callable[[], bytes]) -> None:
        super().__init__()
        self.on_audio = on_audio
        self.pull = pull

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        try:
            pcm = self.pull()
        except Exception:  # a callback that raises would kill the bridge thread: send silence
            log.exception("audio pull failed")
            pcm = b"\0" * FRAME_BYTES
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(pcm)
        frame.size = len(pcm)

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            try:
                self.on_audio(bytes(frame.buf)[:frame.size])
            except Exception:
                log.exception("audio push failed")


def _ignore(pcm: bytes) -> None:
    return None


def _silence() -> bytes:
    return b"\0" * FRAME_BYTES


class SipCall(pj.Call):
    """One call: forwards state, media and DTMF events to the owner's callbacks."""

    def __init__(self, phone: SipPhone, acc: pj.Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(acc, call_id)
        # PJSUA2 owns the C++ call from now on: a Python reference that outlives the library (a closure,
        # a test's variable) would otherwise run the destructor after libDestroy and abort the process
        self.__disown__()
        self.phone = phone
        self.port: MediaPort | None = None
        self.key = ""
        self.remote = ""
        self.connected = False
        self.disconnected = False
        self.handlers: CallHandlers | None = None

    def onCallState(self, prm) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and not self.connected:
            self.connected = True
            if self.handlers:
                self.handlers.connected()
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED and not self.disconnected:
            self.disconnected = True
            if self.port is not None:
                self.phone.release_port(self.port)
                self.port = None
            if self.handlers:
                self.handlers.disconnected(info.lastReason or str(info.lastStatusCode))
            self.phone.forget(self)

    def onCallMediaState(self, prm) -> None:
        info = self.getInfo()
        for i, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO or media.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            if self.port is None and self.handlers:
                self.port = self.phone.take_port(self.handlers.audio, self.handlers.pull)
            if self.port is not None:
                aud = self.getAudioMedia(i)
                aud.startTransmit(self.port)
                self.port.startTransmit(aud)

    def onDtmfDigit(self, prm) -> None:
        if self.handlers:
            self.handlers.dtmf(prm.digit)


@dataclass
class CallHandlers:
    """What the gateway wants to hear about one call; each runs on the PJSIP thread, so keep them short."""

    audio: Callable[[bytes], None]
    pull: Callable[[], bytes]
    connected: Callable[[], None] = lambda: None
    disconnected: Callable[[str], None] = lambda reason: None
    dtmf: Callable[[str], None] = lambda digit: None


class SipAccount(pj.Account):
    def __init__(self, phone: SipPhone) -> None:
        super().__init__()
        self.phone = phone
        self.registered = threading.Event()
        self.reg_status = 0

    def onIncomingCall(self, prm) -> None:
        call = SipCall(self.phone, self, prm.callId)
        self.phone.incoming(call)

    def onRegState(self, prm) -> None:
        self.reg_status = prm.code
        if prm.code // 100 == 2:
            self.registered.set()
        log.info("SIP registration: %s %s", prm.code, prm.reason)


class SipPhone:
    """The PJSUA2 endpoint on its own thread, one account, the live calls.

    `on_incoming(call)` is called on the PJSIP thread for every INVITE; the owner sets
    `call.handlers` and answers with `answer(call)` (from any thread).
    """

    def __init__(self, config: SipConfig, on_incoming: Callable[[SipCall], None] | None = None) -> None:
        self.config = config
        self.on_incoming = on_incoming
        self._jobs: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = concurrent.futures.Future()
        self.ep: pj.Endpoint | None = None
        self.account: SipAccount | None = None
        self.calls: dict[str, SipCall] = {}
        self.port = 0
        self._seq = itertools.count(1)
        self._ports: list[MediaPort] = []  # idle media ports, reused by the next calls
        self._keep: list[MediaPort] = []  # every port made (disowned: kept referenced for the process's life)
        self._port_seq = itertools.count(1)

    # Media ports are never destroyed while the library runs: destroying one (from whatever thread
    # drops the last reference, possibly the bridge's clock thread inside its callback) crashed the
    # process under load. A finished call's port goes back to a pool and serves the next call; the
    # pool never grows past the most calls held at once. Disowned, so Python never deletes them.

    def take_port(self, on_audio: Callable[[bytes], None], pull: Callable[[], bytes]) -> MediaPort:
        if self._ports:
            port = self._ports.pop()
            port.on_audio, port.pull = on_audio, pull
            return port
        port = MediaPort(on_audio, pull)
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, RATE, 1, 20_000, 16)
        port.createPort(f"call-port-{next(self._port_seq)}", fmt)
        port.__disown__()
        self._keep.append(port)
        return port

    def release_port(self, port: MediaPort) -> None:
        port.on_audio, port.pull = _ignore, _silence
        self._ports.append(port)

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="pjsip", daemon=True)
        self._thread.start()
        self._ready.result(timeout=30)

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=15)
        self._thread = None

    def call(self, fn: Callable[[], Any]) -> concurrent.futures.Future:
        """Run `fn` on the PJSIP thread (the only thread allowed to touch PJSUA2 objects)."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        if threading.current_thread() is self._thread:
            try:
                fut.set_result(fn())
            except Exception as err:  # noqa: BLE001 - handed to the caller
                fut.set_exception(err)
            return fut
        self._jobs.put((fn, fut))
        return fut

    async def acall(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.wrap_future(self.call(fn))

    def _main(self) -> None:
        try:
            self._init()
        except Exception as err:  # noqa: BLE001 - reported to start()
            self._ready.set_exception(err)
            return
        self._ready.set_result(True)
        try:
            while not self._stop.is_set():
                self.ep.libHandleEvents(5)
                while True:
                    try:
                        fn, fut = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    try:
                        fut.set_result(fn())
                    except Exception as err:  # noqa: BLE001 - handed to the caller
                        fut.set_exception(err)
        finally:
            self._shutdown()

    def _init(self) -> None:
        c = self.config
        ep = pj.Endpoint()
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0  # SIP events are polled on this thread only
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.userAgent = "neuroseller"
        cfg.logConfig.level = c.log_level
        cfg.logConfig.consoleLevel = c.log_level
        cfg.medConfig.clockRate = RATE
        cfg.medConfig.sndClockRate = RATE
        cfg.medConfig.audioFramePtime = 20
        cfg.medConfig.ptime = 20
        cfg.medConfig.ecTailLen = 0  # no echo canceller: the far end is a phone network, not a speaker
        cfg.medConfig.noVad = True
        cfg.medConfig.quality = 4
        ep.libInit(cfg)
        ep.audDevManager().setNullDev()
        tcfg = pj.TransportConfig()
        tcfg.port = c.port
        tcfg.boundAddress = c.bind
        tcfg.publicAddress = c.public_address or c.bind
        tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.libStart()
        self.port = int(ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
        wanted = [x.strip().upper() for x in c.codecs if x.strip()]
        for codec in ep.codecEnum2():
            name = codec.codecId.upper()
            rank = next((i for i, w in enumerate(wanted) if name.startswith(w)), None)
            ep.codecSetPriority(codec.codecId, 0 if rank is None else 250 - rank)
        acfg = pj.AccountConfig()
        host = c.domain or f"{c.public_address or c.bind}:{self.port}"
        acfg.idUri = f"sip:{c.user}@{host}"
        if c.registrar:
            acfg.regConfig.registrarUri = c.registrar
            acfg.regConfig.timeoutSec = 300
        if c.proxy:
            acfg.sipConfig.proxies.append(c.proxy)
        if c.password:
            acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", c.auth_user or c.user, 0, c.password))
        acfg.mediaConfig.transportConfig.boundAddress = c.bind
        acfg.mediaConfig.transportConfig.publicAddress = c.public_address or c.bind
        acfg.mediaConfig.transportConfig.port = c.rtp_port
        acfg.natConfig.iceEnabled = False
        acc = SipAccount(self)
        acc.create(acfg)
        self.ep, self.account = ep, acc

    def _shutdown(self) -> None:
        if self.ep is None:
            return
        try:
            self.ep.hangupAllCalls()
            for _ in range(20):
                self.ep.libHandleEvents(10)
        except Exception:
            log.exception("hanging up calls at shutdown")
        for call in list(self.calls.values()):
            call.port = None
        self.calls.clear()
        self.account = None
        import gc

        gc.collect()  # ports and calls must go before the library does
        self.ep.libDestroy()
        self.ep = None

    # ---- calls --------------------------------------------------------------------------------

    def incoming(self, call: SipCall) -> None:
        info = call.getInfo()
        call.key = f"in{next(self._seq)}-{info.callIdString[:16]}"
        call.remote = info.remoteUri
        self.calls[call.key] = call
        if self.on_incoming is None:
            prm = pj.CallOpParam()
            prm.statusCode = 486
            call.hangup(prm)
            return
        self.on_incoming(call)

    def forget(self, call: SipCall) -> None:
        self.calls.pop(call.key, None)

    def answer(self, call: SipCall, code: int = 200) -> concurrent.futures.Future:
        def run() -> None:
            prm = pj.CallOpParam()
            prm.statusCode = code
            call.answer(prm)

        return self.call(run)

    def hang_up(self, call: SipCall) -> concurrent.futures.Future:
        def run() -> None:
            if not call.disconnected and call.isActive():
                call.hangup(pj.CallOpParam())

        return self.call(run)

    def dial(self, uri: str, handlers: CallHandlers) -> concurrent.futures.Future:
        """Place a call to `uri` (sip:… or a number on the trunk); resolves to the SipCall."""

        def run() -> SipCall:
            assert self.account is not None
            call = SipCall(self, self.account)
            call.handlers = handlers
            call.key = f"out{next(self._seq)}"
            call.remote = uri
            self.calls[call.key] = call
            prm = pj.CallOpParam(True)
            call.makeCall(uri, prm)
            return call

        return self.call(run)

    def number_uri(self, number: str) -> str:
        if number.startswith("sip:"):
            return number
        c = self.config
        host = c.domain or f"{c.bind}:{self.port}"
        return f"sip:{number}@{host}"


def caller_number(remote_uri: str) -> str:
    """`"Anna" <sip:+79123456789@trunk>` → `+79123456789` (the user part; trunks put the CLI there)."""
    uri = remote_uri.split("<", 1)[-1].split(">", 1)[0]
    user = uri.split(":", 1)[-1].split("@", 1)[0].split(";", 1)[0]
    return user


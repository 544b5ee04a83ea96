"""A real SIP caller on loopback (PJSUA2, its own process: one endpoint per process) for tests and
the latency benchmark.

It dials the gateway, waits for the greeting to end, plays each phrase (a 16 kHz WAV made by
festival or espeak-ng) as G.711 RTP, and timestamps on the wire: the end of its phrase (the last
speech packet it sent) and the first packet of the answer that comes back. Prints one JSON object.

    python -m benchmarks.sip_caller --target sip:shop@127.0.0.1:5080 --caller +79120000001 \
        --phrase var/ru.wav --out result.json [--record back.wav] [--hang-up-after-ms 400]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from pathlib import Path

from activities.channels.voice.audio import FRAME_BYTES, frames_of, read_wav, resample, rms, to_pcm, write_wav
from activities.channels.voice.sip import CallHandlers, SipConfig, SipPhone

SPEECH_RMS = 0.01


class Line:
    """Both directions of the call as the caller's side of the bridge sees them, with wall times."""

    def __init__(self) -> None:
        self.out: deque[bytes] = deque()
        self.last_out_speech = 0.0
        self.heard: list[tuple[float, float]] = []  # (time, rms) per received packet
        self.received: list[bytes] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.gone = threading.Event()
        self.reason = ""

    def audio(self, pcm: bytes) -> None:
        self.received.append(pcm)
        self.heard.append((time.monotonic(), rms(pcm)))

    def pull(self) -> bytes:
        with self.lock:
            pcm = self.out.popleft() if self.out else b"\0" * FRAME_BYTES
        if rms(pcm) > SPEECH_RMS:
            self.last_out_speech = time.monotonic()
        return pcm

    def loud_since(self, t: float) -> float | None:
        return next((at for at, level in list(self.heard) if at > t and level > SPEECH_RMS), None)

    def quiet_for(self, seconds: float) -> bool:
        now = time.monotonic()
        recent = [level for at, level in list(self.heard) if at > now - seconds]
        return bool(recent) and max(recent) <= SPEECH_RMS and (not self.heard or now - self.heard[0][0] > seconds)


def wait(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def run(args: argparse.Namespace) -> dict:
    line = Line()
    handlers = CallHandlers(audio=line.audio, pull=line.pull, connected=line.connected.set,
                            disconnected=lambda reason: (setattr(line, "reason", reason), line.gone.set()))
    incoming: list = []

    def answer(call) -> None:  # --answer: the customer's phone rings and is picked up
        call.handlers = handlers
        incoming.append(call)
        phone.answer(call, 200)

    phone = SipPhone(SipConfig(bind="127.0.0.1", port=args.port, user=args.caller, codecs=[args.codec],
                               registrar=args.registrar, domain=args.domain, password=args.password),
                     on_incoming=answer if args.answer else None)
    phone.start()
    print(json.dumps({"listening": phone.port}), flush=True)
    result: dict = {"phrases": [], "connected": False}
    if args.registrar:  # a trunk account: registration must succeed (digest auth) before anything else
        result["registered"] = phone.account.registered.wait(args.timeout)
        result["registration_status"] = phone.account.reg_status
        if args.register_only:
            phone.stop()
            return result
    try:
        if args.answer:
            wait(lambda: bool(incoming), args.timeout)
            call = incoming[0] if incoming else None
            if call is None:
                result["error"] = "nobody called"
                return result
            result["from"] = call.remote
        else:
            call = phone.dial(args.target, handlers).result(timeout=10)
        if not line.connected.wait(args.timeout):
            result["error"] = "not answered"
            return result
        result["connected"] = True
        # the greeting: wait for it to start and to end
        started = time.monotonic()
        wait(lambda: line.loud_since(started) is not None, args.timeout)
        wait(lambda: line.quiet_for(0.8), args.timeout)
        if args.dtmf:  # keypad presses (RFC 2833), then listen to what they caused
            phone.call(lambda: call.dialDtmf(args.dtmf)).result(timeout=5)
            pressed = time.monotonic()
            heard = wait(lambda: line.loud_since(pressed) is not None, args.timeout)
            result["dtmf_answered"] = heard
            wait(lambda: line.quiet_for(1.0) or line.gone.is_set(), args.listen_ms / 1000 or args.timeout)
        for path in args.phrase:
            samples, rate = read_wav(Path(path))
            pcm = to_pcm(resample(samples, rate))
            with line.lock:
                line.out.extend(frames_of(pcm))
            wait(lambda: not line.out, args.timeout)
            end = line.last_out_speech
            first = None
            if wait(lambda end=end: line.loud_since(end) is not None, args.timeout):
                first = line.loud_since(end)
            phrase = {"wav": path, "speech_end": end, "first_answer": first,
                      "latency_ms": round((first - end) * 1000, 1) if first else None}
            if first and args.hang_up_after_ms:
                time.sleep(args.hang_up_after_ms / 1000)
                phone.hang_up(call).result(timeout=5)
                phrase["hung_up_mid_answer"] = True
                result["phrases"].append(phrase)
                break
            listen = args.listen_ms / 1000 if args.listen_ms else args.timeout
            wait(lambda: line.quiet_for(1.0) or line.gone.is_set(), listen)
            answer = [lvl for at, lvl in list(line.heard) if first and at >= first]
            phrase["answer_ms"] = round(sum(1 for lvl in answer if lvl > SPEECH_RMS) * 20, 1)
            result["phrases"].append(phrase)
            if line.gone.is_set():
                break
        if args.linger:
            line.gone.wait(args.linger)
        result["remote_hung_up"] = line.gone.is_set() and not any(p.get("hung_up_mid_answer")
                                                                  for p in result["phrases"])
        if not line.gone.is_set():
            phone.hang_up(call).result(timeout=5)
            line.gone.wait(5)
        result["reason"] = line.reason
    finally:
        if args.record:
            write_wav(Path(args.record), b"".join(line.received))
        phone.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="")
    parser.add_argument("--answer", action="store_true", help="wait for a call on --port and answer it")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--registrar", default="", help="register first (sip:host:port)")
    parser.add_argument("--domain", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--register-only", action="store_true")
    parser.add_argument("--caller", default="+79120000001")
    parser.add_argument("--phrase", action="append", default=[])
    parser.add_argument("--codec", default="PCMA/8000")
    parser.add_argument("--dtmf", default="", help="digits to press after the greeting")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--hang-up-after-ms", type=int, default=0, help="hang up this long into the answer")
    parser.add_argument("--listen-ms", type=int, default=0,
                        help="listen to an answer at most this long, then go on (speaking over it = barge-in)")
    parser.add_argument("--linger", type=float, default=0.0, help="stay on the line (silence) this long at the end")
    parser.add_argument("--record")
    parser.add_argument("--out")
    args = parser.parse_args()
    result = run(args)
    text = json.dumps(result, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text)
    print(text, flush=True)


if __name__ == "__main__":
    main()

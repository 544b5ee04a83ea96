"""The container healthcheck: healthy only while this host's process polls its task queue."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from workers import healthcheck
from workers.devserver import free_port
from workers.worker import build_worker


async def test_a_polling_worker_is_healthy_and_an_idle_queue_is_not(temporal_env) -> None:
    queue = f"health-{uuid.uuid4().hex[:6]}"
    address = temporal_env.client.service_client.config.target_host
    settings = Settings(_env_file=None, temporal_address=address, task_queue=queue, profiles_dir=ROOT / "profiles")
    catalog = load_csv(SAMPLE_CATALOG)
    assert "no poller" in (await healthcheck.check(settings, "worker") or "")
    async with build_worker(temporal_env.client, settings, catalog=lambda: catalog):
        for _ in range(50):
            if await healthcheck.check(settings, "worker") is None:
                break
            await asyncio.sleep(0.1)
        assert await healthcheck.check(settings, "worker") is None
        assert await healthcheck.check(settings, "worker", host="another-host") is not None


def test_unreachable_temporal_is_unhealthy(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    assert healthcheck.main(["telegram"]) == 1
    assert "unhealthy" in capsys.readouterr().err


def test_unknown_role_is_a_usage_error(capsys) -> None:
    assert healthcheck.main(["voice"]) == 2
    assert "usage" in capsys.readouterr().err

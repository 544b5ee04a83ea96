"""Registering to a trunk: the PJSUA2 account (in its own process) against SIPp acting as a registrar that
challenges with digest authentication and checks the password."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys

import pytest

from tests.conftest import ROOT
from workers.devserver import free_port

SCENARIO = ROOT / "tests" / "voice" / "sipp" / "registrar.xml"


async def register(registrar_port: int, password: str) -> dict:
    args = [sys.executable, "-m", "benchmarks.sip_caller", "--caller", "100123", "--domain", "trunk.test",
            "--registrar", f"sip:127.0.0.1:{registrar_port}", "--password", password, "--register-only",
            "--timeout", "8"]
    proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return json.loads([x for x in out.decode().splitlines() if x.startswith('{"phrases"')][-1])


@pytest.mark.parametrize(("password", "registered"), [("s3cret-trunk", True), ("wrong", False)])
async def test_gateway_account_registers_with_digest_auth(password: str, registered: bool) -> None:
    if shutil.which("sipp") is None:
        pytest.skip("sipp is not installed: apt-get install sip-tester")
    port = free_port()
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin", "-timeout", "20s",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.sleep(0.3)
        result = await register(port, password)
    finally:
        if sipp.returncode is None:
            sipp.kill()
        await sipp.wait()
    assert result["registered"] is registered
    assert result["registration_status"] == (200 if registered else 403)

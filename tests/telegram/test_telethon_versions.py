"""Both ends of the Telethon range the gateway declares run the whole Telegram suite.

The newest release is the one installed in the venv (this very run); the oldest supported one is
installed beside it (`make install` puts it in `.venv/telethon-<version>`, or this test does) and the
suite runs again in a subprocess with it first on the path. A release that changes what the gateway
relies on fails here, not in a shop's update loop.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import telethon

from tests.conftest import ROOT
from workers.telegram_gateway import TELETHON_BELOW, TELETHON_MIN

OLDEST = "{}.{}.0".format(*TELETHON_MIN)


def oldest_telethon() -> Path:
    target = Path(sys.prefix) / f"telethon-{OLDEST}"
    if not (target / "telethon" / "version.py").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                        f"telethon=={OLDEST}"], check=True, timeout=300)
    return target


def test_the_newest_supported_telethon_is_the_one_installed() -> None:
    parts = tuple(int(p) for p in telethon.__version__.split(".")[:2])
    assert TELETHON_MIN <= parts < TELETHON_BELOW


def test_the_telegram_suite_passes_on_the_oldest_supported_telethon(tmp_path: Path) -> None:
    target = oldest_telethon()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), str(ROOT)]))
    probe = subprocess.run([sys.executable, "-c", "import telethon; print(telethon.__version__)"], env=env,
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == OLDEST
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                          f"--basetemp={tmp_path / 'pt'}", "tests/telegram",
                          "--ignore", "tests/telegram/test_telethon_versions.py"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout

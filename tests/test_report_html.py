"""The HTML report in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/run)
opens the file offline, runs the inlined plotly.js, and we count the charts it drew in the DOM.

The phone-sized screenshot is kept under var/test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from activities.crm.report import (
    FUNNEL,
    Bucket,
    Count,
    Day,
    EscalationRow,
    FollowUps,
    FunnelStep,
    Latency,
    ModelRow,
    Report,
    ReportQuery,
    Revenue,
    Segment,
    bucket_labels,
)
from tests.conftest import ROOT
from workers.report_html import render_html, write_html

ARTIFACTS = ROOT / "var" / "test-artifacts"
PHONE = (500, 3200)  # the narrowest window headless Chromium lays out; a phone in landscape
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                 "--virtual-time-budget=5000", f"--window-size={PHONE[0]},{PHONE[1]}"]


def sample_report(variants: bool = True) -> Report:
    start = datetime(2026, 11, 30, tzinfo=UTC)
    counts = [120, 70, 31, 28, 22, 11]
    segs = {"profile": [Segment(value="default", dialogues=120, intent=70, contact=31, cart=28, checkout=22, won=11,
                                reply_p50_ms=800, escalations=6)]}
    if variants:
        segs["variant"] = [Segment(value="A", dialogues=60, intent=36, contact=17, cart=15, checkout=12, won=7),
                           Segment(value="B", dialogues=60, intent=34, contact=14, cart=13, checkout=10, won=4)]
    return Report(
        query=ReportQuery(since=start, until=start + timedelta(days=7)),
        funnel=[FunnelStep(name=n, count=c, conversion=c / p if p else None, of_dialogues=c / 120) for n, c, p in
                zip(FUNNEL, counts, [0, *counts[:-1]], strict=True)],
        revenue=[Revenue(currency="RUB", amount=131_890, orders=11)],
        reply=Latency(count=400, avg_ms=1100, p50_ms=800, p95_ms=2900, p99_ms=6100),
        reply_histogram=[Bucket(label=lab, count=n)
                         for lab, n in zip(bucket_labels(), [150, 120, 70, 30, 15, 10, 4, 1, 0], strict=True)],
        escalations=[EscalationRow(reason="human_request", count=4, taken=4, takeover_p50_s=95, takeover_max_s=600),
                     EscalationRow(reason="unknown_item", count=2, taken=1, takeover_p50_s=40, takeover_max_s=40)],
        refusals=[Count(key="no_thanks", count=9), Count(key="opt_out", count=2)],
        guard=[Count(key="passed", count=300), Count(key="repaired", count=12), Count(key="replaced", count=3)],
        model=[ModelRow(provider="openai", calls=315, p50_ms=700, tokens_in=250_000, tokens_out=30_000)],
        followups=FollowUps(sent=30, leads=25, replied=9, converted=4),
        segments=segs,
        days=[Day(day=date(2026, 11, 30) + timedelta(days=i), dialogues=15 + i, leads=9, won=1 + i % 3,
                  escalations=i % 2) for i in range(7)],
    )


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:  # pragma: no cover - .ci/run installs it
        pytest.fail("headless Chromium is missing: apt-get install -y chromium (.ci/run does it)")
    return found


def browse(page: Path, profile: Path, *extra: str) -> str:
    out = subprocess.run([chromium(), *BROWSER_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def test_the_page_fetches_nothing_from_outside():
    page = render_html(sample_report())
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert "@font-face" not in page and not re.search(r"url\(\s*['\"]?https?:", page)
    assert page.count("<script") == 1 + 5  # plotly.js once, then one small script per chart
    assert "131 890" in page and "human_request" in page


def test_every_chart_renders_in_headless_chromium(tmp_path: Path):
    page = tmp_path / "report.html"
    write_html(sample_report(), page)
    dom = browse(page, tmp_path / "profile-dom", "--dump-dom")
    drawn = re.findall(r'<div id="([\w-]+)" class="plotly-graph-div js-plotly-plot"', dom)
    assert drawn == ["funnel", "reply-histogram", "over-time", "escalations", "variants"]
    assert dom.count('class="main-svg"') >= 2 * len(drawn)  # plotly draws two layered svgs per chart
    assert dom.count('class="trace bars"') >= 4  # funnel, histogram, over-time bars, escalations, variants
    widths = [int(w) for w in re.findall(r'class="main-svg"[^>]*width="(\d+)"', dom)]
    assert widths and max(widths) <= PHONE[0]  # charts follow the screen's width, never wider
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report-phone.png"
    shot.unlink(missing_ok=True)
    browse(page, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert shot.stat().st_size > 20_000


def test_without_variants_there_is_no_empty_variant_chart(tmp_path: Path):
    page = tmp_path / "plain.html"
    write_html(sample_report(variants=False), page)
    dom = browse(page, tmp_path / "profile", "--dump-dom")
    assert re.findall(r'<div id="([\w-]+)" class="plotly-graph-div js-plotly-plot"', dom) == [
        "funnel", "reply-histogram", "over-time", "escalations"]

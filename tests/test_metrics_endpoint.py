"""One /metrics for ours and the Temporal SDK's, after real turns; the Grafana dashboard and the
Prometheus config under deploy/ name only metrics that endpoint really serves."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
import uuid

import pytest
import yaml

from activities.crm import metrics
from activities.crm.activity import CrmActivities
from activities.crm.db import Database
from activities.crm.db.scratch import scratch_database
from activities.crm.postgres_sink import PostgresSink
from catalog.loader import load_csv
from neuroseller.settings import Settings
from tests.conftest import ROOT, SAMPLE_CATALOG
from workers.client import connect, lead_input, send_message
from workers.devserver import free_port
from workers.telemetry import temporal_runtime
from workers.worker import build_worker
from workflows.lead import LeadWorkflow
from workflows.types import IncomingMessage

DASHBOARD = ROOT / "deploy" / "grafana" / "neuroseller.json"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"
METRIC = re.compile(r"\b((?:neuroseller|temporal)_[a-zA-Z0-9_]+)")


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode("utf-8")


def served_names(text: str) -> set[str]:
    """Sample names, and family names from `# TYPE` lines (a labelled metric nobody used yet)."""
    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",), "summary": ("_count", "_sum")}
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            _, _, name, kind = line.split()[:4]
            names |= {name, *(name + suffix for suffix in suffixes.get(kind, ()))}
    names |= {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][\w:]*)[{ ]", text, re.M)}
    return names


@pytest.fixture(scope="module")
async def scraped(temporal_env) -> str:
    port = free_port()
    metrics.serve(port)
    client = await connect(temporal_env.client.service_client.config.target_host, runtime=temporal_runtime())
    settings = Settings(_env_file=None, llm_provider="rules", profiles_dir=ROOT / "profiles")
    catalog = load_csv(SAMPLE_CATALOG)
    tq = f"metrics-{uuid.uuid4().hex[:6]}"
    async with scratch_database() as dsn, Database(dsn) as db:
        await db.migrate()
        crm = CrmActivities({"postgres": PostgresSink(db)})
        async with build_worker(client, settings, catalog=lambda: catalog, task_queue=tq,
                                extra_activities=[crm.persist_lead, crm.sink_names]):
            inp = lead_input(settings, channel="metrics", chat_id=uuid.uuid4().hex[:8], task_queue=tq)
            for text in ("Сколько стоит палатка на двоих?", "Беру", "позовите менеджера, пожалуйста"):
                await send_message(client, inp, IncomingMessage(text=text))
            handle = client.get_workflow_handle(inp.state.lead_id)
            for _ in range(100):  # the CRM writes (and so the exported reply latencies) follow the replies
                st = await handle.query(LeadWorkflow.state)
                if await db.count("events", inp.state.lead_id) + await db.count("messages", inp.state.lead_id) \
                        >= st.log_seq:
                    break
                await asyncio.sleep(0.1)
            return scrape(port)


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        named = line.startswith((name + "{", name + " "))
        if named and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not served")


def test_reply_latency_histogram_counts_every_reply(scraped: str):
    assert sample(scraped, "neuroseller_reply_latency_seconds_count", channel="metrics") == 3
    assert sample(scraped, "neuroseller_reply_latency_seconds_bucket", channel="metrics", le="60.0") == 3
    assert sample(scraped, "neuroseller_crm_write_lag_seconds_count", sink="postgres") >= 1
    assert sample(scraped, "neuroseller_escalations_total", reason="human_request") >= 1


def test_temporal_sdk_metrics_are_served_on_the_same_endpoint(scraped: str):
    assert sample(scraped, "temporal_workflow_task_schedule_to_start_latency_count") >= 3
    assert "temporal_activity_execution_latency_bucket" in scraped


def test_grafana_dashboard_queries_only_metrics_we_serve(scraped: str):
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    served = served_names(scraped)
    panels = [p for p in board["panels"] if p.get("type") != "row"]
    titles = {p["title"] for p in panels}
    for wanted in ("Reply latency", "Turns per second", "Escalations", "Model errors", "Guard replacements",
                   "CRM write lag", "Temporal task latency"):
        assert any(t.startswith(wanted) for t in titles), wanted
    for panel in panels:
        exprs = [t["expr"] for t in panel["targets"]]
        assert exprs, panel["title"]
        for expr in exprs:
            names = METRIC.findall(expr)
            assert names, (panel["title"], expr)
            missing = [n for n in names if n not in served]
            assert not missing, (panel["title"], missing)


def test_prometheus_config_scrapes_the_metrics_port():
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert jobs["neuroseller"]["metrics_path"] == "/metrics"
    assert all(":" in t for c in jobs["neuroseller"]["static_configs"] for t in c["targets"])

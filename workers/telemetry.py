"""Temporal SDK metrics on our own `/metrics`: one scrape target per process, not two.

The SDK's core serves Prometheus text on an address of its own (`PrometheusConfig`). We bind it to
a free loopback port nobody scrapes and re-export it through a collector on the port
`metrics.serve` opens, so `METRICS_PORT` shows `neuroseller_*` and `temporal_*` side by side.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workers.devserver import free_port

log = logging.getLogger(__name__)

_runtime: Runtime | None = None


class TemporalMetrics:
    """A prometheus_client collector that relays the SDK's own endpoint on every scrape."""

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.url = url
        self.timeout = timeout

    def describe(self) -> list[Metric]:
        return []  # unknown until the SDK has recorded something; keeps `register` from scraping now

    def collect(self) -> Iterator[Metric]:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as resp:
                text = resp.read().decode("utf-8")
        except OSError as err:
            log.warning("Temporal SDK metrics unavailable at %s: %s", self.url, err)
            return
        yield from text_string_to_metric_families(text)


def temporal_runtime() -> Runtime:
    """The process's Temporal runtime with Prometheus metrics relayed to our registry (created once)."""
    global _runtime
    if _runtime is None:
        address = f"127.0.0.1:{free_port()}"
        _runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
            bind_address=address, counters_total_suffix=True, durations_as_seconds=True)))
        REGISTRY.register(TemporalMetrics(f"http://{address}/metrics"))
    return _runtime

"""Prometheus metrics for service health and model health, in one registry per app.

Service health: requests and latency by route and model version, requests in flight. Model
health: the distribution of prediction scores by version, and rejected inputs by reason — a model
can answer 200 OK with wrong predictions, and these are how phase 4 notices.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SCORE_BUCKETS = (*(round(0.05 * i, 2) for i in range(1, 20)), 1.0)
CALL_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
ROWS_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ServiceMetrics:
    """The service's metrics; with several uvicorn workers, set PROMETHEUS_MULTIPROC_DIR."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "churn_api_requests",
            "HTTP requests served.",
            ["route", "status", "model_version"],
            registry=r,
        )
        self.latency = Histogram(
            "churn_api_request_seconds",
            "Request latency.",
            ["route", "model_version"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "churn_api_in_flight_requests",
            "Requests being served now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.scores = Histogram(
            "churn_api_prediction_score",
            "Churn probabilities returned.",
            ["model_version", "routed_to"],
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            "churn_api_rejected_inputs",
            "Inputs rejected by validation, by reason.",
            ["reason"],
            registry=r,
        )
        self.model_info = Gauge(
            "churn_api_model_info",
            "1 for each loaded model version and its role.",
            ["alias", "version"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.swaps = Counter(
            "churn_api_model_swaps", "Hot swaps of a loaded model.", ["alias"], registry=r
        )
        self.rollbacks = Counter(
            "churn_api_canary_rollbacks", "Canaries ended by a guardrail.", ["reason"], registry=r
        )
        self.challenger_errors = Counter(
            "churn_api_challenger_errors",
            "Challenger failures (the champion answered).",
            registry=r,
        )
        self.model_calls = Histogram(
            "churn_api_model_call_seconds",
            "Time of one model call (many rows), by role: champion, challenger or shadow.",
            ["role", "model_version"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.microbatch_rows = Histogram(
            "churn_api_microbatch_rows",
            "Single-row requests scored together in one model call.",
            buckets=ROWS_BUCKETS,
            registry=r,
        )
        self.shadow_skipped = Counter(
            "churn_api_shadow_skipped_rows",
            "Rows logged without a shadow score because the shadow model fell behind.",
            registry=r,
        )
        self.model_errors = Counter(
            "churn_api_model_errors",
            "Rows the champion could not score (their requests failed).",
            registry=r,
        )
        self.log_dropped = Counter(
            "churn_api_prediction_log_dropped_rows",
            "Prediction log rows dropped because the writer fell behind.",
            registry=r,
        )

    def exposition(self) -> bytes:
        """The text format; aggregated across workers in multiprocess mode."""
        if os.environ.get(MULTIPROC_ENV):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)

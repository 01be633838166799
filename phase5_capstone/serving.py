"""The real phase-3 service, under uvicorn on 127.0.0.1, in this process: the capstone's client.

The runner scores every week through ``POST /v1/predict/batch`` and moves models only the way an
operator would: it moves a registry alias, then asks the service to reload (``POST
/admin/reload``), and sets shadow or canary through ``POST /admin/rollout``. The service loads,
verifies and hot-swaps the model itself, and its guardrails retire a failing challenger on
their own. Nothing here scores a row or loads a model.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pandas as pd
from pydantic import JsonValue

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
from phase1_foundations.ports import claimed_socket
from phase1_foundations.settings import Settings, load_settings
from phase3_serving.config import ServingSettings
from phase5_capstone.params import ServiceParams

LOCALHOST = "127.0.0.1"
JsonObject = dict[str, JsonValue]


class ServiceError(RuntimeError):
    """The service answered with an error, or not at all; the message has its answer."""


@dataclass(frozen=True)
class Scored:
    """One week's answers: per customer, the score, the version and the slot that served it."""

    frame: pd.DataFrame  # customerid, score, model_version, routed_to
    seconds: float


def serving_settings(
    settings: Settings, params: ServiceParams, params_file: Path
) -> ServingSettings:
    """The service's settings for this run: its state directory, an admin token of its own, and
    the run's params file (the guardrails' limits are in it)."""
    return load_settings(
        ServingSettings,
        state_dir=settings.state_dir,
        serving_params_file=params_file,
        data_dir=settings.data_dir,
        mlflow_tracking_uri=settings.tracking_uri,
        serving_admin_enabled=True,
        serving_admin_token=secrets.token_hex(16),
        serving_poll_seconds=params.poll_seconds,
        serving_guardrail_sync_seconds=params.guardrail_sync_seconds,
        serving_rollout_poll_seconds=params.rollout_poll_seconds,
        serving_gc_freeze=False,  # the runner's process lives on after the service stops
    )


class EmbeddedService:
    """uvicorn serving ``phase3_serving``'s app on a free port of 127.0.0.1, in a thread."""

    def __init__(self, settings: ServingSettings, params: ServiceParams) -> None:
        self.settings = settings
        self.params = params
        self.url = ""
        self._server: object | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmbeddedService:
        import uvicorn

        from phase3_serving.app import create_service

        sock = claimed_socket()
        self.url = f"http://{LOCALHOST}:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_service(self.settings), log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="capstone-service", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.params.settle_timeout_seconds
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise ServiceError("the service stopped while starting (see the log above)")
            try:
                self.request("GET", "/health/ready")
                return self
            except ServiceError:
                time.sleep(0.05)
        raise ServiceError(f"the service at {self.url} was not ready in time")

    def stop(self) -> None:
        import uvicorn

        if isinstance(self._server, uvicorn.Server):
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __enter__(self) -> EmbeddedService:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def request(self, method: str, path: str, body: bytes | None = None) -> JsonObject:
        headers = {"content-type": "application/json"}
        if path.startswith("/admin"):
            token = self.settings.serving_admin_token.get_secret_value()
            headers["authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, body, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.params.settle_timeout_seconds) as r:
                return cast(JsonObject, json.loads(r.read()))
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise ServiceError(f"{method} {path}: {error.code} {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise ServiceError(f"{method} {path}: {error}") from None

    def score(self, frame: pd.DataFrame, chunk_rows: int) -> Scored:
        """Every row through ``POST /v1/predict/batch``, ``chunk_rows`` customers per request."""
        columns = [ID_COLUMN, *FEATURE_NAMES]
        started = time.perf_counter()
        parts = []
        for start in range(0, len(frame), chunk_rows):
            rows = frame.iloc[start : start + chunk_rows][columns].to_json(orient="records")
            answer = self.request("POST", "/v1/predict/batch", f'{{"rows":{rows}}}'.encode())
            parts.append(pd.DataFrame(cast(list[JsonObject], answer["predictions"])))
        seconds = time.perf_counter() - started
        scored = pd.concat(parts, ignore_index=True)
        return Scored(
            scored.rename(columns={"churn_probability": "score"})[
                [ID_COLUMN, "score", "model_version", "routed_to"]
            ],
            seconds,
        )

    def reload(self) -> JsonObject:
        """Ask the service to load whatever the aliases point at now (its real hot swap)."""
        return self.request("POST", "/admin/reload")

    def set_rollout(self, mode: str, canary_percent: float = 0.0) -> JsonObject:
        body = json.dumps({"mode": mode, "canary_percent": canary_percent}).encode()
        return self.request("POST", "/admin/rollout", body)

    def rollout(self) -> JsonObject:
        return self.request("GET", "/admin/rollout")

    def settle(self, challenger_rows: int) -> JsonObject:
        """The rollout once the service has counted ``challenger_rows`` and judged its due look.

        Shadow scoring and guardrail looks run after the responses; the week's evidence is
        complete when the pooled request count has reached what was sent and the latest due
        look has a verdict (or the rollout has stopped).
        """
        deadline = time.monotonic() + self.params.settle_timeout_seconds
        while True:
            status = self.rollout()
            if status.get("mode") == "off" or _settled(status, challenger_rows):
                return status
            if time.monotonic() > deadline:
                raise ServiceError(f"the rollout did not settle in time: {status}")
            time.sleep(0.05)


def _settled(status: JsonObject, challenger_rows: int) -> bool:
    guardrails = cast(JsonObject, status.get("guardrails") or {})
    looks = cast(JsonObject, status.get("looks") or {})
    requests = int(cast(int, guardrails.get("requests") or 0))
    if requests < challenger_rows:
        return False
    schedule = [int(cast(int, n)) for n in cast(list[JsonValue], looks.get("schedule") or [])]
    due = sum(1 for n in schedule if requests >= n)
    if due == 0:
        return True
    verdict = cast(JsonObject | None, looks.get("last_verdict"))
    return verdict is not None and int(cast(int, verdict.get("look") or 0)) >= due

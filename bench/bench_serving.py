"""Throughput and latency of our churn service against MLflow's scoring server, same model.

Run ``python -m bench.bench_serving`` (needs ``wrk`` on PATH). It trains and registers a champion
in a temporary state directory, serves it twice on 127.0.0.1 (our FastAPI service, and
``mlflow models serve`` on ``models:/churn-model/1``, both with the same number of uvicorn
workers), checks that both answer the same rows correctly, then loads each with wrk: single rows,
and batches of N rows. Request bodies rotate through real Telco test customers. wrk runs on the
same machine, so it takes CPU from the servers: compare the two servers, not absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

import numpy as np
import pandas as pd

from phase1_foundations.contract import FEATURE_NAMES, LABEL_COLUMN
from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT, Settings, load_settings, refuse_bad_config
from phase1_foundations.telco import load_telco
from testing.server import (
    LOCALHOST,
    Server,
    ServerError,
    server_env,
    start_process,
    tracking_uri,
    uvicorn_command,
    wait_until_up,
)

logger = logging.getLogger("bench.serving")

MODEL_NAME = "churn-model"
MODEL_VERSION = "1"  # the fresh state directory's first (and only) version
DEFAULT_DURATION_S = 10.0
DEFAULT_WARMUP_S = 2.0
DEFAULT_CONNECTIONS = 64
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 1
DEFAULT_BATCH_ROWS = 100
SINGLE_BODIES = 256  # distinct single-row bodies wrk rotates through
BATCH_BODIES = 16  # distinct batch bodies
CHECK_SINGLE_ROWS = 20  # rows also sent one by one in the correctness check
PROBABILITY_TOLERANCE = 1e-9
WRK_TIMEOUT_S = 10  # per request; wrk's default (2 s) is too short for big batches under load
PIPELINE_TIMEOUT_S = 600.0
HTTP_TIMEOUT_S = 30.0
LOG_TAIL_CHARS = 3000
RESULT_PREFIX = "BENCH_RESULT "

Case = Literal["single", "batch"]
ServerName = Literal["ours", "mlflow"]
CASES: tuple[Case, ...] = ("single", "batch")
SERVERS: tuple[ServerName, ...] = ("ours", "mlflow")


class CaseResult(TypedDict):
    case: Case
    server: ServerName
    rows_per_request: int
    mean_body_bytes: float
    requests: int
    requests_per_s: float
    rows_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    load_before: float  # the machine's 1-minute load average as the case started
    load_after: float


class CorrectnessResult(TypedDict):
    passed: bool
    rows_checked: int
    max_probability_diff: float
    mlflow_labels_agree: bool
    detail: str


class BenchResult(TypedDict):
    cpu_count: int
    workers: int
    connections: int
    threads: int
    duration_s: float
    batch_rows: int
    correctness: CorrectnessResult
    cases: list[CaseResult]
    throughput_ratio: dict[str, float]  # per case: our requests/s over MLflow's


class BenchError(RuntimeError):
    """A server did not start or answered wrongly; the message says which and why."""


@dataclass(frozen=True)
class Workload:
    """What each server is sent for one case: its path and the bodies wrk rotates through."""

    path: str
    bodies: list[bytes]
    rows_per_request: int


# ---- request bodies --------------------------------------------------------------------------


def load_request_frame() -> pd.DataFrame:
    """Real test customers, contract-typed: the 19 features plus ``customerid``."""
    return load_telco().test.drop(columns=[LABEL_COLUMN])


def to_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """JSON-ready rows (plain str, int and float), as a client would send them."""
    records: list[dict[str, object]] = json.loads(frame.to_json(orient="records"))
    return records


def wrap_indices(total: int, start: int, count: int) -> list[int]:
    """``count`` positions from ``start``, wrapping around so any count works on any data."""
    return [(start + i) % total for i in range(count)]


def take_rows(rows: Sequence[dict[str, object]], start: int, count: int) -> list[dict[str, object]]:
    return [rows[i] for i in wrap_indices(len(rows), start, count)]


def dumps(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def our_body(rows: list[dict[str, object]], *, batch: bool) -> bytes:
    return dumps({"rows": rows}) if batch else dumps(rows[0])


def mlflow_body(rows: list[dict[str, object]]) -> bytes:
    """MLflow's ``dataframe_split`` format (its most compact) with the model's 19 inputs."""
    data = [[row[name] for name in FEATURE_NAMES] for row in rows]
    return dumps({"dataframe_split": {"columns": list(FEATURE_NAMES), "data": data}})


def build_workloads(
    rows: Sequence[dict[str, object]], batch_rows: int
) -> dict[tuple[Case, ServerName], Workload]:
    """The same customers for both servers in each case, in each server's own format."""
    singles = [take_rows(rows, i, 1) for i in range(min(SINGLE_BODIES, len(rows)))]
    batches = [take_rows(rows, i * batch_rows, batch_rows) for i in range(BATCH_BODIES)]
    return {
        ("single", "ours"): Workload("/v1/predict", [our_body(r, batch=False) for r in singles], 1),
        ("single", "mlflow"): Workload("/invocations", [mlflow_body(r) for r in singles], 1),
        ("batch", "ours"): Workload(
            "/v1/predict/batch", [our_body(r, batch=True) for r in batches], batch_rows
        ),
        ("batch", "mlflow"): Workload(
            "/invocations", [mlflow_body(r) for r in batches], batch_rows
        ),
    }


# ---- processes (started, awaited and stopped by the tests' helpers) ---------------------------


def state_settings(state: Path) -> Settings:
    return load_settings(Settings, state_dir=state, mlflow_tracking_uri=None)


def bench_env(state: Path, extra: dict[str, str]) -> dict[str, str]:
    """The servers' environment: the temporary state, the serving defaults, and any
    ``MLOPS_SERVING_*`` tuning the caller exported (so a setting can be benchmarked)."""
    tuning = {k: v for k, v in os.environ.items() if k.startswith("MLOPS_SERVING_")}
    defaults = {"MLOPS_SERVING_POLL_SECONDS": "10", "MLOPS_SERVING_LOG_FLUSH_SECONDS": "2"}
    return server_env(state_settings(state), **{**defaults, **tuning, **extra})


def train_champion(state: Path) -> None:
    """Run the phase-2 pipeline into ``state``: it registers v1 as the champion."""
    workdir = state / "pipeline"
    command = [sys.executable, "-m", "phase2_pipelines", "run", "--workdir", str(workdir)]
    done = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=bench_env(state, {}),
        capture_output=True,
        text=True,
        timeout=PIPELINE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-LOG_TAIL_CHARS:]
        raise BenchError(f"the pipeline failed (exit {done.returncode}):\n{output}")


def launch(
    name: ServerName, command: list[str], env: dict[str, str], port: int, state: Path
) -> Server:
    log = state / f"{name}.log"
    return Server(f"http://{LOCALHOST}:{port}", start_process(command, env, log), log)


def start_servers(
    state: Path, workers: int, stack: contextlib.ExitStack
) -> dict[ServerName, Server]:
    """Both servers, started together and stopped by ``stack``; returns once both are ready."""
    ours_port, mlflow_port = free_port(), free_port()
    our_extra: dict[str, str] = {}
    if workers > 1:
        prometheus_dir = state / "prometheus"
        prometheus_dir.mkdir()
        our_extra["PROMETHEUS_MULTIPROC_DIR"] = str(prometheus_dir)
    ours = launch(
        "ours", uvicorn_command(ours_port, workers), bench_env(state, our_extra), ours_port, state
    )
    stack.callback(ours.stop)
    mlflow_command = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        f"models:/{MODEL_NAME}/{MODEL_VERSION}",
        "--env-manager",
        "local",
        "--host",
        LOCALHOST,
        "--port",
        str(mlflow_port),
        "--workers",
        str(workers),
    ]
    mlflow = launch("mlflow", mlflow_command, bench_env(state, {}), mlflow_port, state)
    stack.callback(mlflow.stop)
    try:
        wait_until_up(ours, "/health/ready", workers)
        wait_until_up(mlflow, "/ping", workers)
    except ServerError as error:
        raise BenchError(str(error)) from error
    return {"ours": ours, "mlflow": mlflow}


# ---- correctness -----------------------------------------------------------------------------


def post_json(url: str, body: bytes) -> object:
    """POST a JSON body; a non-200 answer is a BenchError that quotes it."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            answer: object = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        detail = error.read()[:LOG_TAIL_CHARS].decode(errors="replace")
        raise BenchError(f"POST {url} answered {error.code}: {detail}") from error


def _field(payload: object, key: str) -> object:
    if not isinstance(payload, dict) or key not in payload:
        raise BenchError(f"expected a JSON object with {key!r}, got {str(payload)[:300]}")
    return payload[key]


def _list(payload: object) -> list[object]:
    if not isinstance(payload, list):
        raise BenchError(f"expected a JSON list, got {str(payload)[:300]}")
    return payload


def our_probabilities(server: Server, rows: list[dict[str, object]]) -> np.ndarray:
    """Churn probabilities from our service: one row by ``/v1/predict``, more by the batch route."""
    if len(rows) == 1:
        answers = [post_json(f"{server.url}/v1/predict", our_body(rows, batch=False))]
    else:
        batch = post_json(f"{server.url}/v1/predict/batch", our_body(rows, batch=True))
        answers = _list(_field(batch, "predictions"))
    return np.array([float(str(_field(answer, "churn_probability"))) for answer in answers])


def predicted_labels(server: Server, rows: list[dict[str, object]]) -> np.ndarray:
    """What MLflow's ``/invocations`` predicts for ``rows``."""
    answer = post_json(f"{server.url}/invocations", mlflow_body(rows))
    return np.asarray(_list(_field(answer, "predictions")))


def reference_predictions(
    state: Path, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, object]:
    """Probabilities, labels and positive class of the registered artifact, loaded here."""
    import mlflow.sklearn
    from mlflow import MlflowClient

    # An explicit client: a models:/ URI would consult the default (cwd) registry on the way.
    store = tracking_uri(state)  # the same URI the servers use
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    local = client.get_model_version_download_uri(MODEL_NAME, MODEL_VERSION)
    model = mlflow.sklearn.load_model(local)
    features = frame[list(FEATURE_NAMES)]
    probabilities = np.asarray(model.predict_proba(features)[:, 1], dtype=np.float64)
    positive: object = model.classes_[1]
    return probabilities, np.asarray(model.predict(features)), positive


def check_correctness(
    servers: dict[ServerName, Server], frame: pd.DataFrame, state: Path
) -> CorrectnessResult:
    """Both servers answer 200 on the same rows, and agree with the registered model.

    MLflow's pyfunc for an sklearn model calls ``predict`` (it was logged with the default
    ``pyfunc_predict_fn``, and request ``params`` cannot change that), so ``/invocations``
    returns class labels. Our probabilities are compared with the artifact's ``predict_proba``
    to 1e-9, and MLflow's labels with its ``predict`` (and with our probabilities at 0.5).
    """
    ours, mlflow = servers["ours"], servers["mlflow"]
    rows = to_records(frame)
    singles = rows[:CHECK_SINGLE_ROWS]
    batch_probs = our_probabilities(ours, rows)
    single_probs = np.concatenate([our_probabilities(ours, [row]) for row in singles])
    mlflow_labels = predicted_labels(mlflow, rows)
    mlflow_single = np.concatenate([predicted_labels(mlflow, [row]) for row in singles])
    ref_probs, ref_labels, positive = reference_predictions(state, frame)

    problems: list[str] = []
    if len(batch_probs) != len(rows) or len(mlflow_labels) != len(rows):
        problems.append(f"row counts: ours {len(batch_probs)}, mlflow {len(mlflow_labels)}")
        diff = float("inf")
    else:
        diff = max(
            float(np.max(np.abs(batch_probs - ref_probs))),
            float(np.max(np.abs(single_probs - ref_probs[: len(singles)]))),
        )
    if diff > PROBABILITY_TOLERANCE:
        problems.append(f"our probabilities differ from the model's by up to {diff:.3g}")
    labels_agree = len(mlflow_labels) == len(rows) and bool(
        np.array_equal(mlflow_labels, ref_labels)
        and np.array_equal(mlflow_single, ref_labels[: len(singles)])
        and np.array_equal(ref_labels == positive, batch_probs > 0.5)
    )
    if not labels_agree:
        problems.append("MLflow's labels differ from the model's predict (or from ours at 0.5)")
    return CorrectnessResult(
        passed=not problems,
        rows_checked=len(rows),
        max_probability_diff=diff,
        mlflow_labels_agree=labels_agree,
        detail="; ".join(problems) or "all 200; probabilities and labels agree",
    )


# ---- wrk -------------------------------------------------------------------------------------


def lua_long_string(text: str) -> str:
    """``text`` as a Lua long string, with a bracket level that does not occur inside it."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def write_wrk_script(workload: Workload, path: Path) -> None:
    """A wrk script that POSTs the bodies in turn and prints its summary as one JSON line."""
    bodies = ",\n".join(lua_long_string(body.decode()) for body in workload.bodies)
    path.write_text(
        f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {{
{bodies}
}}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "{workload.path}", nil, bodies[(counter % #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{RESULT_PREFIX}{{"requests": %d, "duration_us": %d, "p50_us": %.3f, "p99_us": %.3f, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""
    )


def run_wrk(
    url: str, script: Path, duration_s: float, connections: int, threads: int
) -> dict[str, float]:
    """One wrk run against ``url`` (127.0.0.1 only); the numbers its ``done`` hook printed."""
    if not url.startswith(f"http://{LOCALHOST}:"):
        raise ValueError(f"wrk is only ever pointed at {LOCALHOST}, not {url}")
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not on PATH (Debian/Ubuntu: apt-get install wrk)")
    seconds = max(1, round(duration_s))
    command = [
        wrk,
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        f"{WRK_TIMEOUT_S}s",
        "--script",
        str(script),
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + WRK_TIMEOUT_S + 30, check=False
    )
    match = re.search(f"^{RESULT_PREFIX}(.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise BenchError(f"wrk failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    numbers: dict[str, float] = json.loads(match.group(1))
    return numbers


def measure(
    name: ServerName,
    server: Server,
    case: Case,
    workload: Workload,
    script: Path,
    duration_s: float,
    connections: int,
    threads: int,
) -> CaseResult:
    load_before = os.getloadavg()[0]
    stats = run_wrk(f"{server.url}{workload.path}", script, duration_s, connections, threads)
    seconds = stats["duration_us"] / 1e6
    ok = int(stats["requests"] - stats["status"])
    per_second = ok / seconds if seconds > 0 else 0.0
    return CaseResult(
        case=case,
        server=name,
        rows_per_request=workload.rows_per_request,
        mean_body_bytes=float(np.mean([len(body) for body in workload.bodies])),
        requests=int(stats["requests"]),
        requests_per_s=per_second,
        rows_per_s=per_second * workload.rows_per_request,
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        non_2xx=int(stats["status"]),
        socket_errors=int(stats["connect"] + stats["read"] + stats["write"] + stats["timeout"]),
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


# ---- the benchmark ---------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as name:
        yield Path(name)


def run(
    duration_s: float = DEFAULT_DURATION_S,
    connections: int = DEFAULT_CONNECTIONS,
    workers: int = DEFAULT_WORKERS,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    *,
    threads: int = DEFAULT_THREADS,
    warmup_s: float = DEFAULT_WARMUP_S,
) -> BenchResult:
    """Train, serve twice, check, load each case with wrk, and stop both servers whatever happens.

    Each (case, server) gets an unreported warm-up of ``warmup_s`` at the same concurrency.
    """
    if min(duration_s, connections, workers, batch_rows, threads) <= 0:
        raise ValueError("duration, connections, workers, batch rows and threads must be > 0")
    if connections < threads:
        raise ValueError("wrk needs at least one connection per thread")
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not on PATH (Debian/Ubuntu: apt-get install wrk)")
    frame = load_request_frame()
    workloads = build_workloads(to_records(frame), batch_rows)
    with scratch_dir() as scratch, contextlib.ExitStack() as stack:
        state = scratch / "state"
        state.mkdir()
        logger.info("training and registering a champion in %s", state)
        train_champion(state)
        logger.info("starting our service and MLflow's scoring server (%d workers each)", workers)
        servers = start_servers(state, workers, stack)
        logger.info("checking both servers answer %d rows correctly", batch_rows)
        sample = frame.iloc[wrap_indices(len(frame), 0, batch_rows)]
        correctness = check_correctness(servers, sample, state)
        logger.info("correctness: %s", correctness["detail"])
        cases: list[CaseResult] = []
        for case in CASES:
            for name in SERVERS:
                script = scratch / f"{case}-{name}.lua"
                write_wrk_script(workloads[case, name], script)
                args = (name, servers[name], case, workloads[case, name], script)
                if warmup_s > 0:
                    measure(*args, min(warmup_s, duration_s), connections, threads)
                logger.info("wrk: %s rows against %s for %.0f s", case, name, duration_s)
                cases.append(measure(*args, duration_s, connections, threads))
    return BenchResult(
        cpu_count=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
        workers=workers,
        connections=connections,
        threads=threads,
        duration_s=duration_s,
        batch_rows=batch_rows,
        correctness=correctness,
        cases=cases,
        throughput_ratio=throughput_ratios(cases),
    )


def throughput_ratios(cases: list[CaseResult]) -> dict[str, float]:
    by_key = {(c["case"], c["server"]): c["requests_per_s"] for c in cases}
    return {
        case: by_key[case, "ours"] / by_key[case, "mlflow"]
        for case in CASES
        if by_key.get((case, "mlflow"), 0) > 0 and (case, "ours") in by_key
    }


def render(result: BenchResult) -> str:
    """The results table, the ours/MLflow ratios, and the conditions they were measured in."""
    header = (
        f"{'case':<12}{'server':<8}{'body B':>8}{'req/s':>9}{'rows/s':>10}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'non-2xx':>9}{'sock err':>9}{'load':>11}"
    )
    lines = [header, "-" * len(header)]
    for c in result["cases"]:
        label = "single" if c["case"] == "single" else f"batch x{c['rows_per_request']}"
        lines.append(
            f"{label:<12}{c['server']:<8}{c['mean_body_bytes']:>8,.0f}{c['requests_per_s']:>9,.0f}"
            f"{c['rows_per_s']:>10,.0f}{c['p50_ms']:>9.2f}{c['p99_ms']:>9.2f}{c['non_2xx']:>9}"
            f"{c['socket_errors']:>9}{c['load_before']:>6.1f}->{c['load_after']:<4.1f}"
        )
    by_key = {(c["case"], c["server"]): c for c in result["cases"]}
    for case in CASES:
        if case not in result["throughput_ratio"]:
            continue
        ours, theirs = by_key[case, "ours"], by_key[case, "mlflow"]
        p50 = ours["p50_ms"] / theirs["p50_ms"]
        p99 = ours["p99_ms"] / theirs["p99_ms"]
        lines.append(
            f"ours/mlflow, {case}: throughput x{result['throughput_ratio'][case]:.2f},"
            f" p50 latency x{p50:.2f}, p99 latency x{p99:.2f}"
        )
    check = result["correctness"]
    lines += [
        f"correctness ({check['rows_checked']} rows): {'PASS' if check['passed'] else 'FAIL'}"
        f" - {check['detail']} (max |p - p_model| = {check['max_probability_diff']:.2g})",
        f"{result['cpu_count']} CPUs, shared by wrk ({result['threads']} thread(s)) and the"
        f" server under load; {result['workers']} uvicorn workers per server,"
        f" {result['connections']} connections, {result['duration_s']:g} s per case. load: the"
        " machine's 1-minute load average before and after each case (other work included).",
    ]
    return "\n".join(lines)


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION_S,
        help="seconds of load per case and server",
    )
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="uvicorn workers for each server"
    )
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="wrk threads")
    parser.add_argument(
        "--warmup",
        type=float,
        default=DEFAULT_WARMUP_S,
        help="unreported seconds of load before each measurement",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    # A SIGTERM (a CI timeout, say) unwinds like Ctrl-C does, so both servers are stopped.
    signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))
    result = run(
        args.duration,
        args.connections,
        args.workers,
        args.batch_rows,
        threads=args.threads,
        warmup_s=args.warmup,
    )
    print(render(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["correctness"]["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Operate the running service from a shell: ``python -m phase3_serving admin ...`` and ``replay``.

The URL comes from ``MLOPS_SERVING_URL`` (default http://127.0.0.1:8000) and the admin token from
``MLOPS_SERVING_ADMIN_TOKEN``, the same variable the service reads:

- ``admin status``: the models served, the rollout plan, the guardrails' evidence;
- ``admin reload``: check the registry's aliases now;
- ``admin rollout shadow | canary PERCENT | off``: change the plan, on every worker;
- ``replay N``: send N real customers (the Telco test set) to ``/v1/predict``, as traffic.

Exit codes: 0 done, 1 the service answered with an error or is not there, 2 no token.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

from phase2_pipelines.evidence import Check, Evidence, Verdict
from phase3_serving.config import ServingSettings
from phase3_serving.guardrails import BUSINESS_VIEW

EXIT_SERVICE = 1
EXIT_TOKEN = 2
TIMEOUT_S = 30.0


class ServiceError(RuntimeError):
    """The service could not be reached or refused; the message says what to do."""


def call(settings: ServingSettings, method: str, path: str, body: object = None) -> dict[str, Any]:
    """One JSON request to the service, with the admin token when there is one."""
    token = settings.serving_admin_token.get_secret_value()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    url = settings.serving_url.rstrip("/") + path
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        if error.code == 401:
            raise ServiceError(
                f"{url} refused the admin token (401): export MLOPS_SERVING_ADMIN_TOKEN with the"
                " token the service was started with, and start it with"
                " MLOPS_SERVING_ADMIN_ENABLED=true"
            ) from error
        raise ServiceError(
            f"{method} {url} answered {error.code}: {error.read()[:500]!r}"
        ) from error
    except OSError as error:
        raise ServiceError(
            f"no service at {settings.serving_url} ({error}): start it with `make serve`,"
            " or set MLOPS_SERVING_URL"
        ) from error


def _status(args: argparse.Namespace, settings: ServingSettings) -> int:
    status = call(settings, "GET", "/admin/status")
    print(f"service {settings.serving_url} (worker {status['worker']})")
    for role in ("champion", "challenger"):
        model = status[role]
        shown = (
            "none"
            if model is None
            else (
                f"{model['name']} v{model['version']} ({model['scorer']}),"
                f" threshold {model['threshold']}"
            )
        )
        print(f"  {role:<11}{shown}")
    for slot, error in status["load_errors"].items():
        print(f"  {slot} not loaded: {error}")
    print(render_rollout(status["rollout"]))
    return 0


def render_rollout(rollout: dict[str, Any]) -> str:
    """The plan, the pooled evidence, the last look and the last breach, as lines to read."""
    mode = rollout["mode"]
    plan = f"canary {rollout['canary_percent']:g}%" if mode == "canary" else mode
    seen = rollout["guardrails"]
    version = rollout["challenger_version"]
    challenger = "no challenger yet" if version is None else f"challenger v{version}"
    lines = [
        f"  rollout    {plan} (plan {rollout['plan_id']}, set by {rollout['source']}),"
        f" {challenger}",
        f"  evidence   {seen['requests']} challenger requests, {seen['errors']} failed,"
        f" p95 {_ms(seen['p95_ms'])}, score skew (PSI) {_num(seen.get('score_skew_psi'))}"
        f" on {seen.get('probe_rows', 0)} probe rows",
        f"  vs champion score shift (PSI) {_num(seen['score_shift_psi'])} against"
        f" {seen['champion_scores']} champion scores ({BUSINESS_VIEW})",
    ]
    looks = rollout["looks"]
    schedule = ", ".join(str(n) for n in looks["schedule"])
    if looks["last_verdict"] is None:
        lines.append(f"  looks      none yet (at {schedule} challenger requests)")
    else:
        last = looks["last_verdict"]
        checks = [Check.model_validate(check) for check in last["checks"]]
        breached = any(check.verdict is Verdict.ALERT for check in checks)
        lines.append(
            f"  look {last['look']} of {last['of']} at {last['requests']} requests:"
            f" {'BREACH' if breached else 'passed'} (alpha {looks['alpha_per_test']:.2g} per test)"
        )
        lines += [f"    {check.reason}" for check in checks]
        lines += [
            f"    {Evidence.model_validate(shown).describe()} ({BUSINESS_VIEW})"
            for shown in last.get("reported", [])
        ]
    breach = rollout["last_breach"]
    lines.append(f"  last breach {'none' if breach is None else breach['reason']}")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"~{value:.3g} ms"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _reload(args: argparse.Namespace, settings: ServingSettings) -> int:
    served = call(settings, "POST", "/admin/reload")
    print(", ".join(f"{role} v{version}" for role, version in served.items() if version))
    return 0


def _rollout(args: argparse.Namespace, settings: ServingSettings) -> int:
    body = {"mode": args.mode, "canary_percent": args.percent or 0.0}
    if args.mode == "canary" and not args.percent:
        print("error: a canary needs its share: rollout canary PERCENT", file=sys.stderr)
        return EXIT_SERVICE
    plan = call(settings, "POST", "/admin/rollout", body)
    print(render_rollout(plan))
    return 0


def _replay(args: argparse.Namespace, settings: ServingSettings) -> int:
    """Real customers as traffic: the Telco test set, in order, wrapping around."""
    from phase1_foundations.contract import LABEL_COLUMN
    from phase1_foundations.telco import load_telco

    customers = load_telco(settings).test.drop(columns=[LABEL_COLUMN])
    rows = json.loads(customers.to_json(orient="records"))
    routes: Counter[str] = Counter()
    started = time.perf_counter()
    failed = 0
    for i in range(args.rows):
        try:
            answer = call(settings, "POST", "/v1/predict", rows[i % len(rows)])
            routes[answer["routed_to"]] += 1
        except ServiceError as error:
            failed += 1
            if failed == 1:
                print(f"first failure: {error}", file=sys.stderr)
    seconds = time.perf_counter() - started
    served = ", ".join(f"{count} {route}" for route, count in sorted(routes.items()))
    print(
        f"sent {args.rows} customers in {seconds:.1f} s: {served or 'none answered'};"
        f" {failed} failed"
    )
    return EXIT_SERVICE if failed else 0


Handler = Callable[[argparse.Namespace, ServingSettings], int]


def _guarded(handler: Handler) -> Handler:
    def run(args: argparse.Namespace, settings: ServingSettings) -> int:
        if args.command == "admin" and not settings.serving_admin_token.get_secret_value():
            print(
                "error: set MLOPS_SERVING_ADMIN_TOKEN to the token the service was started with",
                file=sys.stderr,
            )
            return EXIT_TOKEN
        try:
            code: int = handler(args, settings)
        except ServiceError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_SERVICE
        return code

    return run


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``admin`` and ``replay`` on the phase-3 command line."""
    admin = commands.add_parser("admin", help="operate the running service (needs the token)")
    actions = admin.add_subparsers(dest="action", required=True)
    actions.add_parser("status", help="models, rollout plan, guardrail evidence").set_defaults(
        handler=_guarded(_status)
    )
    actions.add_parser("reload", help="check the registry's aliases now").set_defaults(
        handler=_guarded(_reload)
    )
    rollout = actions.add_parser("rollout", help="shadow, canary PERCENT, or off: every worker")
    rollout.add_argument("mode", choices=["shadow", "canary", "off"])
    rollout.add_argument("percent", nargs="?", type=float, help="the canary's share of customers")
    rollout.set_defaults(handler=_guarded(_rollout))
    replay = commands.add_parser("replay", help="send N real customers to /v1/predict")
    replay.add_argument("rows", type=int, help="how many requests to send")
    replay.set_defaults(handler=_guarded(_replay))

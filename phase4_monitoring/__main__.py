"""Phase 4 command line: ``python -m phase4_monitoring COMMAND``.

``check`` compares a window (a CSV or parquet file, or a slice of the prediction log) with the
champion's reference and exits 0 when clean, 1 on drift or quality alerts, 2 when the window
breaks the schema or contract or cannot be checked at all. ``pvalues`` shows why the
thresholds are effect sizes and not p-values.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from phase2_pipelines.params import PARAMS_FILE
from phase4_monitoring.monitor import EXIT_CANNOT_CHECK
from phase4_monitoring.windows import WeekRange, WindowError


def _when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or time") from error


def _weeks(text: str) -> WeekRange:
    try:
        return WeekRange.parse(text)
    except WindowError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _check(args: argparse.Namespace) -> int:
    from phase4_monitoring.checkcmd import CheckRequest, run_check

    if (args.path is None) == (args.log is None):
        print("error: give either PATH or --log DIR", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    request = CheckRequest(
        path=args.path,
        log=args.log,
        since=args.since,
        until=args.until,
        weeks=args.weeks,
        labels=args.labels,
        model_version=args.model_version,
        report_dir=args.report,
        metrics=args.metrics,
    )
    return run_check(request)


def _pvalues(args: argparse.Namespace) -> int:
    from phase4_monitoring.demo import effect_versus_pvalue

    print(effect_versus_pvalue(args.rows, args.seed, args.price_change).render())
    return 0


def _world_week(args: argparse.Namespace) -> int:
    from phase4_monitoring.weeks import write_week

    try:
        frame = write_week(
            args.scenario, args.week, args.path, rows=args.rows, seed=args.seed, labels=args.labels
        )
    except KeyError as error:  # an unknown scenario: the message lists the known ones
        print(f"error: {error.args[0]}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    print(f"wrote {len(frame):,} rows of {args.scenario} week {args.week} to {args.path}")
    return 0


def _exporter(args: argparse.Namespace) -> int:
    from phase4_monitoring.exporter import serve
    from phase4_monitoring.params import load_monitoring_params

    port = load_monitoring_params().prometheus.exporter_port if args.port is None else args.port
    try:
        serve(args.textfile, args.host, port)
    except OSError as error:
        print(f"error: cannot serve on {args.host}:{port}: {error.strerror}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    return 0


def _selfcheck(args: argparse.Namespace) -> int:
    from phase4_monitoring.selfcheck import run_selfcheck

    return run_selfcheck(args.params)


def _walkthrough(args: argparse.Namespace) -> int:
    from phase4_monitoring.walkthrough import run_walkthrough

    return run_walkthrough()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phase4_monitoring", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="compare a window with the champion's reference")
    check.add_argument("path", nargs="?", type=Path, help="a CSV or parquet file of customers")
    check.add_argument("--log", type=Path, help="the prediction log directory instead of a file")
    check.add_argument("--since", type=_when, help="log rows at or after this ISO time")
    check.add_argument("--until", type=_when, help="log rows before this ISO time")
    check.add_argument("--weeks", type=_weeks, help="log rows of simulated weeks FIRST:LAST")
    check.add_argument("--labels", type=Path, help="released labels (customerid, churn) to join")
    check.add_argument("--model-version", help="compare with this version, not the champion")
    check.add_argument("--report", type=Path, help="also write the Evidently HTML and JSON here")
    check.add_argument("--metrics", type=Path, help="also write Prometheus gauges to this file")
    check.set_defaults(handler=_check)

    exporter = commands.add_parser("exporter", help="serve the metrics file for Prometheus")
    exporter.add_argument("--textfile", type=Path, required=True, help="what check --metrics wrote")
    exporter.add_argument("--host", default="127.0.0.1")
    exporter.add_argument("--port", type=int, help="default: params.yaml's exporter_port")
    exporter.set_defaults(handler=_exporter)

    pvalues = commands.add_parser("pvalues", help="a KS p-value on a harmless shift")
    pvalues.add_argument("--rows", type=int, default=1_000_000, help="rows in each window")
    pvalues.add_argument("--seed", type=int, default=42)
    pvalues.add_argument("--price-change", type=float, default=0.01, help="e.g. 0.01 for +1%%")
    pvalues.set_defaults(handler=_pvalues)

    week = commands.add_parser("world-week", help="write a simulated week to a CSV or parquet file")
    week.add_argument("scenario", help="a scenario of phase 1's catalogue, e.g. covariate_shift")
    week.add_argument("week", type=int, help="the week number (scenarios start at week 4)")
    week.add_argument("path", type=Path, help="where to write it (.csv or .parquet)")
    week.add_argument("--rows", type=int, default=2_000)
    week.add_argument("--seed", type=int, default=7)
    week.add_argument("--labels", action="store_true", help="include the (future) churn labels")
    week.set_defaults(handler=_world_week)

    selfcheck = commands.add_parser("selfcheck", help="the exercise: is the trigger policy sound?")
    selfcheck.add_argument("--params", type=Path, default=PARAMS_FILE, help="default: params.yaml")
    selfcheck.set_defaults(handler=_selfcheck)

    walkthrough = commands.add_parser("walkthrough", help="make phase4: clean, then drifted weeks")
    walkthrough.set_defaults(handler=_walkthrough)

    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a clean terminal
    from phase1_foundations.logs import configure_logging

    configure_logging("phase4")  # library lines to var/logs/phase4.log; MLOPS_LOG=debug shows them
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

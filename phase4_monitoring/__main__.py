"""Phase 4 command line: ``python -m phase4_monitoring COMMAND``.

``check`` compares a window (a CSV or parquet file, or a slice of the prediction log) with the
champion's reference and exits 0 when clean, 1 on drift or quality alerts, 2 when the window
breaks the schema or contract or cannot be checked at all. ``exporter`` serves the gauges
``check --metrics`` wrote. The lesson's commands are ``python -m phase4_monitoring.lesson``.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from phase1_foundations.settings import refuse_bad_config
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


@refuse_bad_config
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

    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a clean terminal
    from phase1_foundations.logs import configure_logging

    configure_logging("phase4")  # library lines to var/logs/phase4.log; MLOPS_LOG=debug shows them
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

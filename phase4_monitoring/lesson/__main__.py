"""Phase 4's lesson commands: ``python -m phase4_monitoring.lesson COMMAND``.

``walkthrough`` is `make phase4`; ``selfcheck`` is `make check-phase4` (exit 0 when your trigger
policy passes, 1 with what to change); ``pvalues`` shows why the thresholds are effect sizes and
not p-values; ``world-week`` writes a simulated week for ``python -m phase4_monitoring check``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from phase1_foundations.settings import refuse_bad_config
from phase2_pipelines.params import PARAMS_FILE
from phase4_monitoring.monitor import EXIT_CANNOT_CHECK


def _pvalues(args: argparse.Namespace) -> int:
    from phase4_monitoring.lesson.demo import effect_versus_pvalue

    print(effect_versus_pvalue(args.rows, args.seed, args.price_change).render())
    return 0


def _world_week(args: argparse.Namespace) -> int:
    from phase4_monitoring.lesson.weeks import write_week

    try:
        frame = write_week(
            args.scenario, args.week, args.path, rows=args.rows, seed=args.seed, labels=args.labels
        )
    except KeyError as error:  # an unknown scenario: the message lists the known ones
        print(f"error: {error.args[0]}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    print(f"wrote {len(frame):,} rows of {args.scenario} week {args.week} to {args.path}")
    return 0


def _selfcheck(args: argparse.Namespace) -> int:
    from phase4_monitoring.lesson.selfcheck import run_selfcheck

    return run_selfcheck(args.params)


def _walkthrough(args: argparse.Namespace) -> int:
    from phase4_monitoring.lesson.walkthrough import run_walkthrough

    return run_walkthrough()


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phase4_monitoring.lesson", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    walkthrough = commands.add_parser("walkthrough", help="make phase4: clean, then drifted weeks")
    walkthrough.set_defaults(handler=_walkthrough)

    selfcheck = commands.add_parser("selfcheck", help="the exercise: is the trigger policy sound?")
    selfcheck.add_argument("--params", type=Path, default=PARAMS_FILE, help="default: params.yaml")
    selfcheck.set_defaults(handler=_selfcheck)

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

    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a clean terminal
    from phase1_foundations.logs import configure_logging

    configure_logging("phase4")  # library lines to var/logs/phase4.log; MLOPS_LOG=debug shows them
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

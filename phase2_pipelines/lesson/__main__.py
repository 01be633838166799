"""Phase 2's lesson commands: ``python -m phase2_pipelines.lesson selfcheck``.

``selfcheck`` is `make check-phase2`: does the gate in your params.yaml block what it should?
It exits 0 when every requirement is met, 1 with what to change, 2 when params.yaml is unusable.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from phase1_foundations.settings import refuse_bad_config
from phase2_pipelines.params import PARAMS_FILE


def _selfcheck(args: argparse.Namespace) -> int:
    from phase2_pipelines.lesson.selfcheck import run_selfcheck

    return run_selfcheck(args.params)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phase2_pipelines.lesson", description=__doc__)
    parser.add_argument("--params", type=Path, default=PARAMS_FILE, help="params.yaml to use")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "selfcheck", help="the phase-2 exercise self-check: does your gate block what it should?"
    ).set_defaults(handler=_selfcheck)
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    # A command-line run needs no progress bar for each small artifact it downloads.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from phase1_foundations.logs import configure_logging

    args = build_parser().parse_args(argv)
    configure_logging("phase2")
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

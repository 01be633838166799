"""Phase 1's lesson commands: ``python -m phase1_foundations.lesson selfcheck``.

``selfcheck`` is `make check-phase1`: the lock, the environment, the raw data and determinism,
checked in this checkout (never repaired); exit 0 when every promise holds, 1 with what to fix.
"""

from __future__ import annotations

import argparse
import sys

from phase1_foundations.settings import refuse_bad_config


def _selfcheck(_: argparse.Namespace) -> int:
    from phase1_foundations.lesson.selfcheck import run_selfcheck

    return run_selfcheck()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m phase1_foundations.lesson", description=__doc__
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "selfcheck", help="the exercise's self-check: lock, environment, data, determinism"
    ).set_defaults(handler=_selfcheck)
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Phase 3's lesson commands: ``python -m phase3_serving.lesson selfcheck``.

``selfcheck`` is `make check-phase3`: would the guardrails the service reads
(``serving.guardrails`` of ``MLOPS_SERVING_PARAMS_FILE``, by default ``params.yaml``) roll back a
broken challenger, and spare healthy ones? Exit 0 when they do, 1 with what to change.
"""

from __future__ import annotations

import argparse
import sys

from phase1_foundations.settings import refuse_bad_config


def _selfcheck(_: argparse.Namespace) -> int:
    from phase3_serving.lesson.selfcheck import run_selfcheck

    return run_selfcheck()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phase3_serving.lesson", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "selfcheck", help="the exercise's self-check: would your guardrails catch a bad model?"
    ).set_defaults(handler=_selfcheck)
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

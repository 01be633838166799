"""Phase 5's lesson commands: ``python -m phase5_capstone.lesson selfcheck [--scenario NAME]``.

``selfcheck`` is `make check-phase5`: every beat of the scenario, read from the run's event log;
exit 0 when each is shown, 1 when one is not (a decision the system did not make as designed), 2
when there is no run to read.
"""

from __future__ import annotations

import argparse
import sys

from phase1_foundations.settings import get_settings, refuse_bad_config
from phase5_capstone.events import read_events
from phase5_capstone.params import load_capstone_params
from phase5_capstone.scenario import ScenarioError, load_scenario
from phase5_capstone.state import RunPaths
from phase5_capstone.summary import check_beats, render_beats


def _selfcheck(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    paths = RunPaths.of(get_settings().state_dir, args.run or scenario.name)
    if not paths.events.exists():
        print(f"no run in {paths.root}: run `make capstone` first", file=sys.stderr)
        return 2
    results = check_beats(
        read_events(paths.events), scenario.beats, load_capstone_params().yardstick
    )
    print(f"scenario {scenario.name}, as designed:")
    print(render_beats(results))
    missing = [beat.name for beat, shown in results if shown is False]
    if missing:
        print(f"NOT SHOWN: {', '.join(missing)}: read `explain --week N` for those weeks")
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phase5_capstone.lesson", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    selfcheck = commands.add_parser(
        "selfcheck", help="the self-check: exit 1 unless the run's log shows every beat"
    )
    selfcheck.add_argument(
        "--scenario", default=load_capstone_params().scenario, help="a name in scenarios/ or a path"
    )
    selfcheck.add_argument("--run", default=None, help="run name (default: the scenario's)")
    selfcheck.set_defaults(handler=_selfcheck)
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())

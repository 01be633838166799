"""The simulator's lesson commands: ``python -m simulator.lesson selfcheck [--state-dir DIR]``.

``selfcheck`` is `make check-simulator`: it reviews the latest saved postmortem and exits 0 only
when the review scores 100, 1 with what is missing otherwise, 2 when there is none yet. It reads;
it never writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from phase1_foundations.settings import get_settings, refuse_bad_config

NOTHING_TO_CHECK = 2


def run_selfcheck(state_dir: Path) -> int:
    """The latest saved postmortem's review: 0 at 100, 1 with what is missing, 2 with none."""
    from simulator.postmortem import read_postmortems
    from simulator.record_facts import facts_of
    from simulator.records import DrillRecord, SimulatorPaths
    from simulator.review import review_postmortem

    paths = SimulatorPaths.of(state_dir)
    saved = read_postmortems(paths)
    if not saved:
        print(
            f"no postmortem under {paths.postmortems}: play a drill in `make simulator`,"
            " then write its postmortem on the Postmortem page"
        )
        return NOTHING_TO_CHECK
    latest = saved[-1]
    record_path = paths.drill(latest.drill_id)
    facts = None
    if record_path.is_file():
        facts = facts_of(DrillRecord.model_validate_json(record_path.read_bytes()))
    review = review_postmortem(latest, facts)
    print(f"postmortem of {latest.scenario} ({latest.date}, drill {latest.drill_id}):")
    if facts is None:
        print(f"  (no drill record at {record_path}: its facts are not checked, only its form)")
    print(f"review score {review.score:.1f} of 100")
    for missing in review.missing:
        print(f"  missing: {missing}")
    return 0 if not review.missing else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator.lesson", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    selfcheck = commands.add_parser("selfcheck", help="review the latest postmortem")
    selfcheck.add_argument("--state-dir", type=Path, default=None, help="default: MLOPS_STATE_DIR")
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_selfcheck(args.state_dir or get_settings().state_dir)


if __name__ == "__main__":
    sys.exit(main())

"""The simulator's commands: list the drills, play one headless, review your postmortems.

    python -m simulator list
    python -m simulator play SCENARIO --actions FILE [--seed N] [--state-dir DIR]
    python -m simulator review [--state-dir DIR]

The actions file is a YAML list of week-stamped declarations, each made before that week is
played: ``- {week: 5, signal: prediction_drift, root_cause: bad_model, response: roll_back}``.
``play`` prints the score breakdown and the debrief as JSON on stdout, progress on stderr. A bad
scenario name, file or action is refused with one line naming the field, and exit code 2.
``review`` is the lesson's self-check: it reviews the latest saved postmortem and exits 0 only
when the review scores 100, 1 with what is missing otherwise, 2 when there is none yet.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phase1_foundations.settings import Settings, get_settings
from simulator.drills import CatalogueError, load_catalogue
from simulator.records import Declaration, DrillRecord

USAGE_ERROR = 2


class Action(BaseModel):
    """One line of an actions file (checked against the catalogue by ``make_declaration``)."""

    model_config = ConfigDict(extra="forbid")

    week: int = Field(ge=0)
    signal: str
    root_cause: str
    response: str
    note: str = ""


class UsageError(ValueError):
    """Bad input from the command line or the actions file; the message names the field."""


def read_actions(path: Path) -> list[Declaration]:
    """The declarations of an actions file; UsageError names the field and the problem."""
    if not path.is_file():
        raise UsageError(f"--actions: no file {str(path)!r}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"--actions: {path} is not valid YAML{where}") from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise UsageError(f"actions: expected a list of actions, got {type(raw).__name__}")
    declarations = []
    for index, item in enumerate(raw):
        try:
            action = Action.model_validate(item)
            declarations.append(
                load_catalogue().declaration(
                    action.week, action.signal, action.root_cause, action.response, action.note
                )
            )
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "(item)"
            raise UsageError(f"actions.{index}.{where}: {first['msg']}") from None
        except CatalogueError as error:
            raise UsageError(f"actions.{index}.{error}") from None
    return declarations


def result_json(record: DrillRecord) -> dict[str, object]:
    """The score breakdown and the debrief of a finished drill, for scripts."""
    score = record.score
    return {
        "drill_id": record.drill_id,
        "scenario": record.scenario,
        "seed": record.seed,
        "inject_week": record.inject_week,
        "weeks": record.weeks,
        "total": None if score is None else round(score.total, 2),
        "max_total": None if score is None else score.max_total,
        "parts": [] if score is None else [p.model_dump() for p in score.parts],
        "declarations": [d.model_dump() for d in record.declarations],
        "debrief": [s.model_dump() for s in record.debrief],
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the drills: name, then title")
    played = commands.add_parser("play", help="play one drill headless; the score as JSON")
    played.add_argument("scenario")
    played.add_argument("--actions", type=Path, required=True, help="YAML list of actions")
    played.add_argument("--seed", type=int, default=0, help="draws the hidden injection week")
    played.add_argument("--state-dir", type=Path, default=None, help="default: MLOPS_STATE_DIR")
    reviewed = commands.add_parser("review", help="review the latest postmortem (self-check)")
    reviewed.add_argument("--state-dir", type=Path, default=None, help="default: MLOPS_STATE_DIR")
    return parser


def _review(state_dir: Path) -> int:
    """The latest saved postmortem's review: 0 at 100, 1 with what is missing, 2 with none."""
    from simulator.postmortem import read_postmortems
    from simulator.record_facts import facts_of
    from simulator.records import SimulatorPaths
    from simulator.review import review_postmortem

    paths = SimulatorPaths.of(state_dir)
    saved = read_postmortems(paths)
    if not saved:
        print(
            f"no postmortem under {paths.postmortems}: play a drill in `make simulator`,"
            " then write its postmortem on the Postmortem page"
        )
        return USAGE_ERROR
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


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _refuse(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return USAGE_ERROR


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "review":
        return _review(args.state_dir or get_settings().state_dir)
    try:
        catalogue = load_catalogue()
        if args.command == "list":
            for name, spec in catalogue.drills.items():
                print(f"{name}\t{spec.title}")
            return 0
        catalogue.drill(args.scenario)
        if args.seed < 0:
            raise UsageError(f"--seed: must be 0 or more, got {args.seed}")
        declarations = read_actions(args.actions)
    except (UsageError, CatalogueError) as error:
        return _refuse(error)
    from phase1_foundations.logs import configure_logging
    from simulator.engine import DrillError, play  # the heavy imports, only to play

    settings: Settings = get_settings()
    if args.state_dir is not None:
        settings = settings.model_copy(update={"state_dir": args.state_dir})
    configure_logging("simulator", settings=settings)  # library lines to <state>/logs
    try:
        record = play(
            args.scenario, declarations, seed=args.seed, settings=settings, progress=_progress
        )
    except DrillError as error:
        return _refuse(error)
    print(json.dumps(result_json(record), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

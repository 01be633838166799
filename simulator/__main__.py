"""The simulator's commands: list the drills, play one headless.

    python -m simulator list
    python -m simulator play SCENARIO --actions FILE [--seed N] [--state-dir DIR]

The actions file is a YAML list of week-stamped declarations, each made before that week is
played: ``- {week: 5, signal: prediction_drift, root_cause: bad_model, response: roll_back}``.
``play`` prints the score breakdown and the debrief as JSON on stdout, progress on stderr. A bad
scenario name, file or action is refused with one line naming the field, and exit code 2.
The lesson's self-check, which reviews your latest postmortem, is ``python -m simulator.lesson
selfcheck`` (`make check-simulator`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phase1_foundations.settings import Settings, get_settings, refuse_bad_config
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
    return parser


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _refuse(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return USAGE_ERROR


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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

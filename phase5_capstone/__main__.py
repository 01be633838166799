"""``python -m phase5_capstone run | explain --week N | summary | timeline``.

The self-check that reads a run's beats is the lesson's: ``python -m phase5_capstone.lesson
selfcheck`` (`make check-phase5`).
"""

from __future__ import annotations

import argparse
import sys

from phase1_foundations.logs import configure_logging
from phase1_foundations.settings import get_settings, refuse_bad_config
from phase5_capstone.events import read_events
from phase5_capstone.params import load_capstone_params
from phase5_capstone.scenario import ScenarioError, load_scenario
from phase5_capstone.state import RunPaths
from phase5_capstone.summary import (
    LEGEND,
    check_beats,
    closing_lines,
    counts,
    explain_week,
    judge_events,
    render_beats,
    summary_table,
)
from phase5_capstone.timeline import write_timeline


def _paths(args: argparse.Namespace) -> RunPaths:
    name = args.run or load_scenario(args.scenario).name
    return RunPaths.of(get_settings().state_dir, name)


def _run(args: argparse.Namespace) -> int:
    # The run's machinery (MLflow, scikit-learn, the service) is imported by `run` alone: the
    # other commands only read the event log, and start in 1.3 s instead of 2 s.
    from phase5_capstone.runner import RunRefused, build_context, run
    from phase5_capstone.serving import ServiceError

    scenario = load_scenario(args.scenario)
    try:
        ctx = build_context(scenario, args.run)
        result = run(
            ctx,
            fresh=args.fresh,
            progress=not args.no_progress,
            max_weeks=1 if args.one_week else None,
        )
    except (RunRefused, ServiceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    events = list(result.events)
    if result.already_finished:
        print(f"run {result.paths.root} is finished already (nothing redone; --fresh starts over)")
    print(summary_table(events))
    print(LEGEND)
    print(f"events: {counts(events)}")
    print(judge_events(events, scenario.make_world()).render())
    yardstick = ctx.capstone.yardstick  # the params the run was judged with, read once
    print("\n".join(closing_lines(events, yardstick)))
    if scenario.beats:
        print(f"scenario {scenario.name}, as designed:")
        print(render_beats(check_beats(events, scenario.beats, yardstick)))
    timeline = result.paths.timeline
    if not (result.already_finished and timeline.is_file()):  # `timeline` writes it again
        write_timeline(events, timeline, f"capstone run {scenario.name}")
    print(f"event log: {result.paths.events}\ntimeline:  {timeline}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    print(explain_week(read_events(_paths(args).events), args.week))
    return 0


def _timeline(args: argparse.Namespace) -> int:
    paths = _paths(args)
    print(
        write_timeline(read_events(paths.events), paths.timeline, f"capstone run {paths.root.name}")
    )
    return 0


def _summary(args: argparse.Namespace) -> int:
    print(summary_table(read_events(_paths(args).events)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phase5_capstone", description=__doc__)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show the libraries' log lines (MLOPS_LOG=debug)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    default = load_capstone_params().scenario
    for name, handler, help_text in (
        ("run", _run, "run the scenario's weeks (resumes a run that was cut short)"),
        ("explain", _explain, "which model served a week, why, and on what data"),
        ("summary", _summary, "the week-by-week table of a run"),
        ("timeline", _timeline, "write the run's HTML timeline again"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--scenario", default=default, help="a name in scenarios/ or a path")
        command.add_argument("--run", default=None, help="run name (default: the scenario's)")
        command.set_defaults(handler=handler)
        if name == "run":
            command.add_argument("--fresh", action="store_true", help="start the run over")
            command.add_argument("--no-progress", action="store_true")
            command.add_argument(
                "--one-week", action="store_true", help="run the next week only (a scheduler's)"
            )
        if name == "explain":
            command.add_argument("--week", type=int, required=True)
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log = configure_logging("capstone", verbose=args.verbose)
    if log is not None and args.command == "run":
        print(f"library log lines: {log} (-v or MLOPS_LOG=debug shows them here)")
    try:
        code: int = args.handler(args)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())

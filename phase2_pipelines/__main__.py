"""Phase 2 command line: ``python -m phase2_pipelines COMMAND``.

``stage NAME`` is what ``dvc.yaml`` runs; the other commands operate the registry and runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from phase1_foundations.settings import get_settings, refuse_bad_config
from phase2_pipelines.params import PARAMS_FILE, load_params
from phase2_pipelines.workdir import STAGES, StageError, WorkDir, dvc_workdir, state_workdir

if TYPE_CHECKING:
    from phase2_pipelines.registry import Registry


def _stage(args: argparse.Namespace) -> int:
    """One stage in its own process, importing only that stage's module (what dvc.yaml runs)."""
    module = importlib.import_module(f"phase2_pipelines.stages.{args.name}")
    try:
        work = dvc_workdir() if args.workdir is None else WorkDir(args.workdir)
        print(module.main(load_params(args.params), work))
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    from phase2_pipelines.pipeline import run_pipeline

    try:
        work = state_workdir(get_settings()) if args.workdir is None else WorkDir(args.workdir)
        registration = run_pipeline(load_params(args.params), work)
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(registration.decision.render())
    print(registration.render(load_params(args.params).registry.model_name))
    return 0


def _registry(args: argparse.Namespace) -> Registry:
    from phase2_pipelines.registry import Registry

    return Registry(load_params(args.params).registry.model_name)


def _history(args: argparse.Namespace) -> int:
    registry = _registry(args)
    events = registry.history()
    if not events:
        print(f"no promotions recorded for {registry.name}")
        return 0
    print(f"promotion history of {registry.name}:")
    for event in events:
        print(f"  {event.render()}")
    _print_aliases(registry)
    return 0


def _status(args: argparse.Namespace) -> int:
    """The last pipeline run's gate decision and where the aliases point now."""
    import json

    from pydantic import ValidationError

    from phase2_pipelines.gate import GateDecision

    try:
        work = dvc_workdir() if args.workdir is None else WorkDir(args.workdir)
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    gate_file, registered_file = work.gate / "gate.json", work.register / "registered.json"
    if not registered_file.is_file():
        print(f"no pipeline run in {work.root} yet: run `make phase2`", file=sys.stderr)
        return 1
    try:
        decision = GateDecision.from_dict(json.loads(gate_file.read_text()))
    except ValidationError:
        print(f"{gate_file} was written by an older version: run `make phase2`", file=sys.stderr)
        return 1
    print(decision.render())
    registered = json.loads(registered_file.read_text())
    note = registered.get("note", f"registered as v{registered['version']}")
    print(f"last run: {note} (run {registered['run_id']})")
    _print_aliases(_registry(args))
    return 0


def _print_aliases(registry: Registry) -> None:
    print("aliases now: " + ", ".join(f"{a}=v{v}" for a, v in registry.aliases().items()))


def _rollback(args: argparse.Namespace) -> int:
    from phase2_pipelines.registry import RegistryError

    registry = _registry(args)
    try:
        event = registry.rollback(args.reason)
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"rolled back: champion is v{event.version} again (was v{event.replaced})")
    return 0


def _promote(args: argparse.Namespace) -> int:
    """A promotion by hand bypasses the gate: refused without --force, recorded as an override."""
    from phase2_pipelines.registry import RegistryError

    if not args.force:
        print(
            "error: promoting by hand bypasses the gate, which is what decides promotions"
            " (`make phase2` runs it on the holdout, against the champion).\n"
            "If you mean to override the gate, say so: add --force and a --reason; the move is"
            " recorded as an override in `make history`.",
            file=sys.stderr,
        )
        return 2
    registry = _registry(args)
    try:
        event = registry.promote(args.version, args.reason, override=True)
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"override: champion is v{event.version} (was v{event.replaced}), gate bypassed")
    return 0


def _stage_challenger(args: argparse.Namespace) -> int:
    from phase2_pipelines.registry import RegistryError

    registry = _registry(args)
    try:
        event = registry.stage_challenger(args.version, args.reason)
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    replaced = f" (was v{event.replaced})" if event.replaced else ""
    print(
        f"challenger is v{event.version}{replaced}; champion is v{registry.version_for('champion')}"
    )
    return 0


def _retire_challenger(args: argparse.Namespace) -> int:
    registry = _registry(args)
    event = registry.retire_challenger(args.reason)
    if event is None:
        print(f"{registry.name} has no challenger; nothing to retire")
        return 0
    print(f"retired challenger v{event.version}; champion is v{registry.version_for('champion')}")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from phase2_pipelines.reproduce import ReproduceError, reproduce_run

    try:
        result = reproduce_run(args.run_id, allow_dirty=args.allow_dirty)
    except ReproduceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result.render())
    return 0 if result.identical else 1


def _experiments(args: argparse.Namespace) -> int:
    from phase2_pipelines.experiments import run_experiments

    print(run_experiments(load_params(args.params)).render())
    return 0


def _model_report(args: argparse.Namespace) -> int:
    from phase2_pipelines.model_report import run_model_report

    return run_model_report(args.base, args.out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phase2_pipelines", description=__doc__)
    parser.add_argument("--params", type=Path, default=PARAMS_FILE, help="params.yaml to use")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show the libraries' log lines (MLOPS_LOG=debug)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    stage = commands.add_parser("stage", help="run one pipeline stage (what dvc.yaml calls)")
    stage.add_argument("name", choices=STAGES)
    stage.add_argument("--workdir", type=Path, help="default: where dvc.yaml puts the outputs")
    stage.set_defaults(handler=_stage)
    run = commands.add_parser("run", help="run every stage in this process (no DVC caching)")
    run.add_argument("--workdir", type=Path, help="default: pipeline/ in MLOPS_STATE_DIR")
    run.set_defaults(handler=_run)
    status = commands.add_parser("status", help="last gate decision and current aliases")
    status.add_argument("--workdir", type=Path, help="default: dvc.yaml's (make phase2's run)")
    status.set_defaults(handler=_status)
    commands.add_parser("history", help="print the promotion history").set_defaults(
        handler=_history
    )
    rollback = commands.add_parser("rollback", help="restore the previous champion")
    rollback.add_argument("--reason", required=True)
    rollback.set_defaults(handler=_rollback)
    promote = commands.add_parser(
        "promote", help="make a version the champion by hand, bypassing the gate (needs --force)"
    )
    promote.add_argument("version")
    promote.add_argument("--reason", required=True)
    promote.add_argument("--force", action="store_true", help="override the gate (recorded)")
    promote.set_defaults(handler=_promote)
    challenger = commands.add_parser(
        "stage-challenger", help="point the challenger alias at a version (shadow, canary)"
    )
    challenger.add_argument("version")
    challenger.add_argument("--reason", required=True)
    challenger.set_defaults(handler=_stage_challenger)
    retire = commands.add_parser("retire-challenger", help="remove the challenger alias")
    retire.add_argument("--reason", required=True)
    retire.set_defaults(handler=_retire_challenger)
    reproduce = commands.add_parser("reproduce", help="rebuild a run's model and compare")
    reproduce.add_argument("run_id")
    reproduce.add_argument("--allow-dirty", action="store_true")
    reproduce.set_defaults(handler=_reproduce)
    commands.add_parser("experiments", help="compare configured experiments").set_defaults(
        handler=_experiments
    )
    report = commands.add_parser(
        "model-report",
        help="CI for models: train this tree's model and BASE's on the same data, gate, report",
    )
    report.add_argument("--base", required=True, help="git ref of the model to compare with")
    report.add_argument("--out", type=Path, help="also write the Markdown report here")
    report.set_defaults(handler=_model_report)
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    import os

    # A command-line run needs no progress bar for each small artifact it downloads.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from phase1_foundations.logs import configure_logging

    args = build_parser().parse_args(argv)
    configure_logging("phase2", verbose=args.verbose)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

"""Phase 2 command line: ``python -m phase2_pipelines COMMAND``.

``stage NAME`` is what ``dvc.yaml`` runs; the other commands operate the registry and runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from phase2_pipelines.params import PARAMS_FILE, load_params
from phase2_pipelines.pipeline import STAGES, DataRejected, WorkDir

if TYPE_CHECKING:
    from phase2_pipelines.registry import Registry


def _stage(args: argparse.Namespace) -> int:
    from phase2_pipelines import pipeline

    params = load_params(args.params)
    work = WorkDir(args.workdir)
    try:
        if args.name == "ingest":
            summary = pipeline.ingest(params, work)
            print(f"ingested {summary['train_rows']} training and {summary['holdout_rows']}"
                  f" holdout rows from {summary['source']}")  # fmt: skip
        elif args.name == "validate":
            pipeline.validate(work)
            print("both batches pass the data contract")
        elif args.name == "train":
            pipeline.train(params, work)
            print(f"trained a {params.train.family} pipeline")
        elif args.name == "evaluate":
            report = pipeline.evaluate(params, work)
            overall = report.overall
            print(f"holdout roc_auc {overall.roc_auc:.4f}  pr_auc {overall.pr_auc:.4f}"
                  f"  brier {overall.brier:.4f}  net value/customer"
                  f" {overall.net_value_per_customer:.2f}")  # fmt: skip
        elif args.name == "gate":
            print(pipeline.gate(params, work).render())
        else:
            registration = pipeline.register(params, work)
            print(f"run {registration.run_id} registered as {params.registry.model_name}"
                  f" v{registration.version}; champion is v{registration.champion}")  # fmt: skip
    except DataRejected as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    from phase2_pipelines.pipeline import run_pipeline

    try:
        registration = run_pipeline(load_params(args.params), WorkDir(args.workdir))
    except DataRejected as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(registration.decision.render())
    print(f"registered v{registration.version} (run {registration.run_id});"
          f" champion is v{registration.champion}")  # fmt: skip
    return 0


def _registry(args: argparse.Namespace) -> Registry:
    from phase1_foundations.settings import get_settings
    from phase2_pipelines.registry import Registry
    from phase2_pipelines.tracking import configure_mlflow

    configure_mlflow(get_settings())
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

    from phase2_pipelines.gate import GateDecision

    work = WorkDir(args.workdir)
    gate_file, registered_file = work.gate / "gate.json", work.register / "registered.json"
    if not registered_file.is_file():
        print(f"no pipeline run in {work.root} yet: run `make phase2`", file=sys.stderr)
        return 1
    print(GateDecision.from_dict(json.loads(gate_file.read_text())).render())
    registered = json.loads(registered_file.read_text())
    print(f"last run {registered['run_id']} registered as v{registered['version']}")
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
    from phase2_pipelines.registry import RegistryError

    registry = _registry(args)
    try:
        event = registry.promote(args.version, args.reason)
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"promoted: champion is v{event.version} (was v{event.replaced})")
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
    from phase2_pipelines.experiments import comparison_table, run_experiments

    table = comparison_table(run_experiments(load_params(args.params)))
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phase2_pipelines", description=__doc__)
    parser.add_argument("--params", type=Path, default=PARAMS_FILE, help="params.yaml to use")
    commands = parser.add_subparsers(dest="command", required=True)
    stage = commands.add_parser("stage", help="run one pipeline stage (what dvc.yaml calls)")
    stage.add_argument("name", choices=STAGES)
    stage.add_argument("--workdir", type=Path, default=Path("var/pipeline"))
    stage.set_defaults(handler=_stage)
    run = commands.add_parser("run", help="run every stage in this process (no DVC caching)")
    run.add_argument("--workdir", type=Path, default=Path("var/pipeline"))
    run.set_defaults(handler=_run)
    status = commands.add_parser("status", help="last gate decision and current aliases")
    status.add_argument("--workdir", type=Path, default=Path("var/pipeline"))
    status.set_defaults(handler=_status)
    commands.add_parser("history", help="print the promotion history").set_defaults(
        handler=_history
    )
    rollback = commands.add_parser("rollback", help="restore the previous champion")
    rollback.add_argument("--reason", required=True)
    rollback.set_defaults(handler=_rollback)
    promote = commands.add_parser("promote", help="make a version the champion")
    promote.add_argument("version")
    promote.add_argument("--reason", required=True)
    promote.set_defaults(handler=_promote)
    reproduce = commands.add_parser("reproduce", help="rebuild a run's model and compare")
    reproduce.add_argument("run_id")
    reproduce.add_argument("--allow-dirty", action="store_true")
    reproduce.set_defaults(handler=_reproduce)
    commands.add_parser("experiments", help="compare configured experiments").set_defaults(
        handler=_experiments
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    # A command-line run needs no progress bar for each small artifact it downloads.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

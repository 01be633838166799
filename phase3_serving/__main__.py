"""Phase 3 command line: ``python -m phase3_serving COMMAND``.

``score IN OUT`` scores a CSV or parquet file with the registered model. Exit codes: 0 when the
run completed (rejected rows included), 1 when the model cannot be loaded, 2 when the input or an
output path cannot be used. ``admin ...`` and ``replay N`` operate the running service
(``admin_cli.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from phase1_foundations.settings import refuse_bad_config
from phase3_serving.admin_cli import add_commands
from phase3_serving.config import DEFAULT_CHUNK_ROWS, ServingSettings, get_serving_settings

EXIT_MODEL = 1
EXIT_INPUT = 2


def positive_rows(text: str) -> int:
    """An argparse type: a chunk size that is a positive whole number of rows."""
    try:
        rows = int(text)
    except ValueError:
        rows = 0
    if rows <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of rows, got {text!r}")
    return rows


def _score(args: argparse.Namespace, settings: ServingSettings) -> int:
    # The batch stack (pandas, pyarrow, the model loader) is imported by the command that uses
    # it: `admin` and `replay` calls, run many times in a lesson, start in half the time.
    from phase3_serving.batch import load_batch_model, score_file
    from phase3_serving.batch_input import BatchInputError, open_input
    from phase3_serving.batch_output import check_output_paths, default_rejects_path
    from phase3_serving.model import ModelLoadError

    rejects: Path = args.rejects or default_rejects_path(args.output)
    try:
        # Check the files before loading the model: a bad path should fail in milliseconds.
        source = open_input(args.input)
        check_output_paths(source.path, args.output, rejects)
    except BatchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    alias = args.alias or settings.serving_model_alias
    started = time.perf_counter()
    try:
        model = load_batch_model(settings, settings.model_name(), alias)
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_MODEL
    print(
        f"model {model.name}@{alias} v{model.version} loaded in"
        f" {time.perf_counter() - started:.2f} s"
    )
    try:
        summary = score_file(
            model,
            source,
            args.output,
            rejects=rejects,
            chunk_rows=args.chunk_rows,
            progress=not args.no_progress,
        )
    except BatchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    print(summary.render())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phase3_serving", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser(
        "score", help="score a CSV or parquet file; rejected rows go to a file of their own"
    )
    score.add_argument("input", type=Path, help="customers to score (.csv or .parquet)")
    score.add_argument("output", type=Path, help="scores to write (.csv or .parquet)")
    score.add_argument(
        "--alias", default=None, help="registry alias to load (default: the serving setting)"
    )
    score.add_argument(
        "--chunk-rows",
        type=positive_rows,
        default=DEFAULT_CHUNK_ROWS,
        help="rows read, checked and scored at a time; bounds memory",
    )
    score.add_argument(
        "--rejects",
        type=Path,
        default=None,
        help="where rejected rows and reasons go (default: OUT's stem + .rejected + suffix)",
    )
    score.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    score.set_defaults(handler=_score)
    add_commands(commands)  # admin and replay: operating the running service
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None, *, settings: ServingSettings | None = None) -> int:
    """Run one command; ``settings`` replaces those read from the environment (tests pass it)."""
    args = build_parser().parse_args(argv)
    code: int = args.handler(args, settings or get_serving_settings())
    return code


if __name__ == "__main__":
    raise SystemExit(main())

"""Phase 1 command line: ``python -m phase1_foundations COMMAND``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa

from phase1_foundations.contract import validate_frame
from phase1_foundations.csvrows import CsvTextError, read_typed_csv
from phase1_foundations.repro import check_reproducibility, environment_fingerprint
from phase1_foundations.settings import refuse_bad_config
from phase1_foundations.telco import TelcoDataError, fetch_telco


def _fetch(_: argparse.Namespace) -> int:
    try:
        directory = fetch_telco()
    except TelcoDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Telco CSVs verified in {directory}")
    return 0


def _fingerprint(args: argparse.Namespace) -> int:
    fingerprint = environment_fingerprint()
    print(json.dumps(fingerprint.to_dict(), indent=2) if args.json else fingerprint.render())
    return 0


def _repro(args: argparse.Namespace) -> int:
    result = check_reproducibility()
    print(json.dumps(result.to_dict()) if args.json else result.render())
    return 0 if result.identical else 1


def _repro_container(args: argparse.Namespace) -> int:
    from phase1_foundations.container import ContainerError, compare_with_container

    host = check_reproducibility()
    print(host.render(), end="\n\n")
    try:
        comparison = compare_with_container(host, image=args.image)
    except ContainerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(comparison.render())
    return 0 if comparison.equal and host.identical else 1


def _validate(args: argparse.Namespace) -> int:
    try:
        frame = _read_frame(args.csv)
    except CsvTextError as error:  # it names the file, the line or column, and the problem
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError, pa.ArrowException) as error:
        lines = str(error).strip().splitlines() or [type(error).__name__]
        print(f"error: {args.csv}: cannot read it: {lines[0]}", file=sys.stderr)
        return 2
    report = validate_frame(frame, require_label=args.label)
    print(report.summary())
    return 0 if report.ok else 1


def _read_frame(path: Path) -> pd.DataFrame:
    """A parquet file as stored; a CSV by the project's one CSV rule (``csvtext``)."""
    return pd.read_parquet(path) if path.suffix == ".parquet" else read_typed_csv(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phase1_foundations", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="download and verify the Telco CSVs").set_defaults(
        handler=_fetch
    )
    fingerprint = commands.add_parser("fingerprint", help="print the environment fingerprint")
    fingerprint.add_argument("--json", action="store_true")
    fingerprint.set_defaults(handler=_fingerprint)
    repro = commands.add_parser("repro", help="train the baseline twice and compare hashes")
    repro.add_argument("--json", action="store_true", help="one JSON line, for machines")
    repro.set_defaults(handler=_repro)
    container = commands.add_parser(
        "repro-container", help="run the check in the image and compare with the host"
    )
    container.add_argument("--image", default="mlops-path:latest")
    container.set_defaults(handler=_repro_container)
    validate = commands.add_parser("validate", help="check a CSV or parquet file")
    validate.add_argument("csv", type=Path)
    validate.add_argument("--label", action="store_true", help="require the churn label")
    validate.set_defaults(handler=_validate)
    return parser


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

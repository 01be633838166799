"""The one home of the bounds tests hold measured figures to: ``tests/expectations.yml``.

A statistical test compares a measured figure (a false-alarm count, an estimator's error, a
policy's score) with a bound. Each bound has one entry, with its reason, the test that measures
it, and the value that test measured last. ``python -m testing.expectations`` (``make
expectations``) runs those tests again, records what each measured, and writes the values back;
it never moves a bound. A bound moves by hand, with its reason, in a reviewed change.

Tests read a bound with ``expectation(name)`` and judge with ``Expectation.holds``; under the
regenerating command, ``holds`` also records the figure it was given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "tests" / "expectations.yml"
RECORD_ENV = "MLOPS_EXPECTATIONS_RECORD"  # a file: each judged figure is appended there
Direction = Literal["at_most", "at_least"]


@dataclass(frozen=True)
class Expectation:
    name: str
    direction: Direction
    bound: float
    kind: Literal["requirement", "measured"]  # set by an issue or the design; or measured
    reason: str
    test: str  # the pytest node that measures it
    measured: float | None  # what that test measured last, written by the regenerating command

    def holds(self, observed: float) -> bool:
        """Whether ``observed`` is within the bound; recorded under the regenerating command."""
        record = os.environ.get(RECORD_ENV)
        if record:
            with Path(record).open("a", encoding="utf-8") as out:
                out.write(json.dumps({"name": self.name, "observed": float(observed)}) + "\n")
        if self.direction == "at_most":
            return observed <= self.bound
        return observed >= self.bound

    def explain(self, observed: float) -> str:
        word = "at most" if self.direction == "at_most" else "at least"
        return (
            f"{self.name}: measured {observed:g}, the bound is {word} {self.bound:g}"
            f" ({self.reason}); last recorded {self.measured}"
        )


def read(path: Path = FILE) -> dict[str, Expectation]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: Expectation(name=name, **fields) for name, fields in raw.items()}


@cache
def _expectations() -> dict[str, Expectation]:
    return read()


def expectation(name: str) -> Expectation:
    return _expectations()[name]


def regenerate(path: Path = FILE) -> dict[str, float]:
    """Run every entry's test with recording on; write each figure it measured back to
    ``measured`` (the largest, for a bound at most; the smallest, for a bound at least: the
    figure closest to failing). Bounds, reasons and tests are left as they are."""
    entries = read(path)
    record = path.parent / ".expectations-record.jsonl"
    record.unlink(missing_ok=True)
    tests = sorted({entry.test for entry in entries.values()})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env={**os.environ, RECORD_ENV: str(record)},
        check=False,
    )
    seen: dict[str, list[float]] = {}
    if record.exists():
        for line in record.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            seen.setdefault(item["name"], []).append(item["observed"])
        record.unlink()
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    figures = {}
    for name, values in seen.items():
        worst = max(values) if entries[name].direction == "at_most" else min(values)
        raw[name]["measured"] = figures[name] = round(worst, 6)
    text = path.read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    path.write_text(header + yaml.safe_dump(raw, sort_keys=False, width=100), encoding="utf-8")
    if done.returncode != 0:
        raise SystemExit(f"a measuring test failed (pytest exit {done.returncode}): see above")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testing.expectations", description=__doc__)
    parser.parse_args(argv)
    figures = regenerate()
    entries = read()
    for name, entry in entries.items():
        shown = "not measured" if name not in figures else f"{figures[name]:g}"
        print(f"{name}: {shown} ({entry.direction} {entry.bound:g})")
    missing = [name for name in entries if name not in figures]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

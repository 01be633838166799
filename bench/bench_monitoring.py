"""Phase 4 benchmark: fast checks against Evidently, per-feature times, and CBPE against
realized AUC (and against NannyML's own CBPE when its environment exists).

Run ``make bench-monitoring`` (``python -m bench.bench_monitoring``). NannyML is not in the
project's lock (it adds about 1.2 GB); ``make nannyml-env`` installs it into
``.tools/nannyml-env``, and this benchmark then runs ``bench/nannyml_cbpe.py`` with that
interpreter, passing the weeks through parquet files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from phase1_foundations.contract import FEATURE_NAMES, LABEL_COLUMN
from phase1_foundations.settings import PROJECT_ROOT, refuse_bad_config
from phase1_foundations.world import World
from phase4_monitoring.drift import check_drift, feature_drift
from phase4_monitoring.estimate import expected_roc_auc
from phase4_monitoring.lesson.replay import WorldChampion, train_world_champion
from phase4_monitoring.lesson.scenarios import any_scenario
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.monitor import monitor_window
from phase4_monitoring.params import load_monitoring_params

NANNYML_PYTHON = Path(
    os.environ.get("NANNYML_PYTHON", PROJECT_ROOT / ".tools" / "nannyml-env" / "bin" / "python")
)
NANNYML_SCRIPT = PROJECT_ROOT / "bench" / "nannyml_cbpe.py"
DRIFT_SCENARIO = "covariate_shift"
DRIFT_WEEK = 9
CBPE_SCENARIOS = {  # phase 1's catalogue, and phase 4's lesson worlds
    "clean": "baseline",
    "covariate shift (prices)": "covariate_shift",
    "covariate shift (contracts)": "category_shift",
    "concept drift (catalogue)": "concept_drift",
    "concept drift (loyal leave)": "loyal_customers_leave",
}


def timed(action: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def p50_p99(times: list[float]) -> str:
    return f"p50 {np.median(times) * 1000:9.1f} ms  p99 {np.quantile(times, 0.99) * 1000:9.1f} ms"


def per_feature(champion: WorldChampion, frame: pd.DataFrame, repeats: int) -> None:
    params = load_monitoring_params()
    print(f"\nfast checks, one feature at a time, {len(frame):,} rows ({repeats} runs each)")
    totals = []
    for name in FEATURE_NAMES:
        times = timed(lambda n=name: feature_drift(frame, n, champion.profile, params), repeats)
        totals.append(times)
        print(f"  {name:<18}{p50_p99(times)}")
    whole = list(np.sum(totals, axis=0))
    print(f"  {'all 19 features':<18}{p50_p99(whole)}")


def versus_evidently(
    champion: WorldChampion, rows: int, repeats: int, evidently_repeats: int
) -> None:
    from phase4_monitoring.evidently_reports import build_report, drifted_columns, evidently_frame

    params = load_monitoring_params()
    frame = World(17, DRIFT_SCENARIO, rows_per_week=rows).week(DRIFT_WEEK).features
    drift = timed(lambda: check_drift(frame, champion.profile, params), repeats)
    full = timed(lambda: monitor_window(frame, champion.reference, params), max(1, repeats // 4))
    reference = evidently_frame(champion.holdout)
    current = evidently_frame(frame)
    snapshots: list[object] = []
    evidently = timed(
        lambda: snapshots.append(build_report(reference, current, params)), evidently_repeats
    )
    ours = set(check_drift(frame, champion.profile, params).drifted)
    theirs = drifted_columns(snapshots[-1]) & set(FEATURE_NAMES)
    print(f"\n{DRIFT_SCENARIO} week {DRIFT_WEEK}, {rows:,} rows")
    print(f"  fast drift checks (19 features)   {p50_p99(drift)}   ({len(drift)} runs)")
    print(f"  all fast checks (schema..drift)   {p50_p99(full)}   ({len(full)} runs)")
    print(f"  Evidently report (drift, summary) {p50_p99(evidently)}   ({len(evidently)} runs)")
    print(
        f"  Evidently / fast drift: {np.median(evidently) / np.median(drift):,.0f}x;"
        f" Evidently / all fast checks: {np.median(evidently) / np.median(full):,.0f}x"
    )
    agree = "agree" if ours == theirs else "DISAGREE"
    print(f"  drifted columns: fast {sorted(ours)}, Evidently {sorted(theirs)}: {agree}")


def cbpe_weeks(champion: WorldChampion, weeks: range, rows: int, seed: int) -> pd.DataFrame:
    """Per scenario and week: realized AUC and our CBPE estimate, with the scores kept."""
    calibrator = champion.reference.calibrator
    records = []
    for label, scenario in CBPE_SCENARIOS.items():
        world = World(seed, any_scenario(scenario), rows_per_week=rows)
        for week in weeks:
            frame = labeled_week(world.week(week))
            scores = champion.score(frame)
            probability = calibrator.apply(scores) if calibrator else scores
            records.append(
                {
                    "scenario": label,
                    "week": week,
                    "realized": float(roc_auc_score(frame[LABEL_COLUMN], scores)),
                    "cbpe": expected_roc_auc(probability),
                    "scores": scores,
                }
            )
    return pd.DataFrame.from_records(records)


def nannyml_estimates(champion: WorldChampion, table: pd.DataFrame) -> dict[str, float] | None:
    if not NANNYML_PYTHON.exists():
        return None
    threshold = champion.params.evaluate.threshold
    holdout_scores = champion.score(champion.holdout)
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / name for name in ("ref.parquet", "weeks.parquet", "out.json")]
        pd.DataFrame(
            {
                "score": holdout_scores,
                "prediction": (holdout_scores >= threshold).astype(int),
                LABEL_COLUMN: champion.holdout[LABEL_COLUMN].to_numpy(),
            }
        ).to_parquet(paths[0])
        chunks = [
            pd.DataFrame(
                {
                    "score": row.scores,
                    "prediction": (row.scores >= threshold).astype(int),
                    "chunk": f"{row.scenario}|{row.week}",
                }
            )
            for row in table.itertuples()
        ]
        pd.concat(chunks).to_parquet(paths[1])
        command = [str(NANNYML_PYTHON), str(NANNYML_SCRIPT), *map(str, paths)]
        no_telemetry = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"}
        subprocess.run(command, check=True, env=no_telemetry)
        estimates: dict[str, float] = json.loads(paths[2].read_text())
    return estimates


def cbpe_table(champion: WorldChampion, weeks: range, rows: int, seed: int) -> None:
    table = cbpe_weeks(champion, weeks, rows, seed)
    nanny = nannyml_estimates(champion, table)
    ours = "isotonic on the holdout" if champion.reference.calibrator else "none needed"
    print(f"\nrecalibration before CBPE: ours {ours}", end="")
    if nanny is None:
        print(f"\n(NannyML column skipped: no interpreter at {NANNYML_PYTHON}; `make nannyml-env`)")
    else:
        calibrated = nanny.pop("_calibrated") > 0
        print(f"; NannyML {'isotonic on the holdout' if calibrated else 'none'}")
    print(f"\nCBPE vs realized ROC AUC, {rows:,} rows a week (shift starts week 4, full by 7)")
    print(f"  {'scenario':<28}{'week':>5}{'realized':>10}{'CBPE':>8}{'NannyML':>9}{'error':>8}")
    for row in table.itertuples():
        other = nanny.get(f"{row.scenario}|{row.week}") if nanny else None
        shown = f"{other:9.3f}" if other is not None else f"{'-':>9}"
        print(
            f"  {row.scenario:<28}{row.week:>5}{row.realized:>10.3f}{row.cbpe:>8.3f}{shown}"
            f"{row.cbpe - row.realized:>+8.3f}"
        )
    print("  mean absolute error of CBPE, by scenario:")
    for label, rows_of in table.groupby("scenario", sort=False):
        error = float(np.mean(np.abs(rows_of.cbpe - rows_of.realized)))
        line = f"    {label:<28} ours {error:.4f}"
        if nanny:
            theirs = [nanny[f"{label}|{w}"] for w in rows_of.week]
            line += f"  NannyML {np.mean(np.abs(np.array(theirs) - rows_of.realized)):.4f}"
            line += f"  |ours - NannyML| {np.mean(np.abs(np.array(theirs) - rows_of.cbpe)):.4f}"
        print(line)


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000", help="window rows, comma-separated")
    parser.add_argument("--repeats", type=int, default=20, help="runs of each fast check")
    parser.add_argument("--evidently-repeats", type=int, default=1)
    parser.add_argument("--cbpe-rows", type=int, default=2_000, help="rows per CBPE week")
    parser.add_argument("--cbpe-weeks", default="3:12", help="FIRST:STOP weeks for the table")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    first, stop = (int(part) for part in args.cbpe_weeks.split(":"))
    champion = train_world_champion(load_monitoring_params())
    largest = World(17, "baseline", rows_per_week=max(sizes)).week(DRIFT_WEEK).features
    per_feature(champion, largest, args.repeats)
    del largest
    for rows in sizes:
        versus_evidently(champion, rows, args.repeats, args.evidently_repeats)
    cbpe_table(champion, range(first, stop), args.cbpe_rows, seed=23)
    return 0


if __name__ == "__main__":
    sys.exit(main())

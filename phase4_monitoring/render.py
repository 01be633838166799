"""The ``check`` command's text: the per-feature table, the other checks, the verdict."""

from __future__ import annotations

from phase2_pipelines.evidence import Check, Verdict
from phase4_monitoring.dataquality import DataQualityReport
from phase4_monitoring.drift import FeatureDrift
from phase4_monitoring.monitor import WindowReport

HEADER = (
    f"{'feature':<18}{'kind':<12}{'n':>10}{'psi':>8}{'js':>8}{'wass.':>8}{'p (info)':>10}"
    f"{'nulls':>8}  {'verdict':<13}reason"
)


def _metric(check: FeatureDrift, name: str) -> str:
    found = [e.value for e in check.evidence if e.metric == name]
    return f"{found[0]:.3f}" if found else "-"


def _p_value(check: FeatureDrift) -> str:
    """The chi-square p-value beside the effect sizes: shown, never decided on."""
    found = [e.p_value for e in check.evidence if e.metric == "psi" and e.p_value is not None]
    return f"{found[0]:.1e}" if found else "-"


def _null_rate(quality: DataQualityReport, column: str | None) -> str:
    for check in quality.nulls:
        for evidence in check.evidence:
            if check.column == column and evidence.metric == "null_rate":
                return f"{evidence.value:.1%}"
    return "-"


def feature_table(report: WindowReport) -> list[str]:
    rows = [HEADER]
    features = list(report.drift.features)
    if report.drift.prediction is not None:
        features.append(report.drift.prediction)
    for check in features:
        rows.append(
            f"{check.column or '':<18}{check.kind:<12}{check.n:>10,}{_metric(check, 'psi'):>8}"
            f"{_metric(check, 'jensen_shannon'):>8}{_metric(check, 'wasserstein'):>8}"
            f"{_p_value(check):>10}{_null_rate(report.data_quality, check.column):>8}"
            f"  {check.verdict.value:<13}"
            f"{check.reason if check.verdict is not Verdict.OK else ''}"
        )
    return rows


def _line(name: str, check: Check) -> str:
    return f"{name:<16}{check.verdict.value:<13}{check.reason}"


def render_report(report: WindowReport) -> str:
    """Everything a person needs to act on the window, one check a line."""
    quality = report.data_quality
    lines = [
        f"window {report.source}: {report.n_rows:,} rows ({report.n_scored:,} scored by"
        f" {report.model})",
        "",
        *feature_table(report),
        "",
        _line("schema", quality.schema_check),
        _line("contract", quality.contract),
        _line("duplicates", quality.duplicates),
    ]
    lines += [_line("nulls", c) for c in quality.nulls if c.verdict is not Verdict.OK]
    if report.estimate is not None:
        lines.append(f"{'estimate':<16}{'':<13}{report.estimate.describe()}")
    if report.quality is None:
        lines.append(f"{'quality':<16}{'skipped':<13}no labels in this window yet")
    else:
        lines += [_line(c.column or "quality", c) for c in report.quality.checks]
    lines += [
        "",
        f"verdict: {report.verdict.value.upper()} (exit {report.exit_code}): {report.reason}",
    ]
    return "\n".join(lines)

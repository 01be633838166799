"""What a retraining trigger knows at a week: the monitor's weekly checks, the realized quality
of the weeks whose labels arrived, and the promotion and retraining history.

Everything is the monitor's own typed evidence: a ``WindowReport`` for each scored week and a
``QualityReport`` for each labeled week. The capstone appends to it week by week.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, model_validator

from phase2_pipelines.evidence import Check, Verdict
from phase4_monitoring.monitor import WindowReport
from phase4_monitoring.quality import QualityReport

BROKEN = (Verdict.FAIL, Verdict.ALERT)  # a data-quality verdict that quarantines the week


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WindowRecord(_Frozen):
    """One week's checks, made when its customers were scored (no labels yet)."""

    week: int
    model_version: str  # the champion that scored the week
    report: WindowReport

    @property
    def broken(self) -> bool:
        """Schema, contract, null-flood or duplicate findings: not data to learn from."""
        return self.report.data_quality.verdict in BROKEN


class LabeledRecord(_Frozen):
    """Realized quality of one week, once its labels arrived: ``quality.check_quality`` on the
    week's labels and logged scores, against the holdout of the version that scored them."""

    week: int  # the event week whose labels these are
    model_version: str
    quality: QualityReport

    @property
    def n(self) -> int:
        return int(self.quality.metrics.get("n", 0))

    def alerts(self, checks: Iterable[str]) -> list[Check]:
        """This week's realized checks among ``checks`` that alert."""
        wanted = set(checks)
        return [c for c in self.quality.checks if c.column in wanted and c.verdict is Verdict.ALERT]


class Promotion(_Frozen):
    """A version became champion; ``week`` is the first week it served."""

    version: str
    week: int


class MonitoringHistory(_Frozen):
    """Everything known at the latest window's week: the input of ``decide_trigger``."""

    windows: tuple[WindowRecord, ...]
    labeled: tuple[LabeledRecord, ...] = ()
    promotions: tuple[Promotion, ...] = ()
    retrain_weeks: tuple[int, ...] = ()  # weeks a retrain started, promoted or not
    rejected_weeks: tuple[int, ...] = ()  # weeks whose retrain's candidates all failed the gate

    @model_validator(mode="after")
    def _ordered(self) -> MonitoringHistory:
        weeks = [w.week for w in self.windows]
        if not weeks:
            raise ValueError("windows: a history needs at least one week")
        if weeks != sorted(set(weeks)):
            raise ValueError("windows: one per week, oldest first")
        return self

    @property
    def week(self) -> int:
        return self.windows[-1].week

    @property
    def champion(self) -> str:
        return self.windows[-1].model_version

    def promotion_of(self, version: str) -> Promotion | None:
        """The latest promotion of ``version`` up to now."""
        found = [p for p in self.promotions if p.version == version and p.week <= self.week]
        return max(found, key=lambda p: p.week, default=None)

    def served_since(self) -> int:
        """The week the champion started serving: its promotion, else its first window in a row."""
        promotion = self.promotion_of(self.champion)
        if promotion is not None:
            return promotion.week
        since = self.week
        for record in reversed(self.windows):
            if record.model_version != self.champion:
                break
            since = record.week
        return since

    def previous_champion(self) -> str | None:
        """The version promoted just before the champion's latest promotion."""
        current = self.promotion_of(self.champion)
        if current is None:
            return None
        earlier = [
            p for p in self.promotions if p.week < current.week and p.version != current.version
        ]
        return max(earlier, key=lambda p: p.week).version if earlier else None

    def last_retrain(self) -> int | None:
        started = [w for w in self.retrain_weeks if w <= self.week]
        return max(started) if started else None

    def rejections_in_a_row(self) -> tuple[int, ...]:
        """Weeks of the retrains rejected since the last one that was not (or since the
        champion's promotion)."""
        since = self.served_since()
        streak: list[int] = []
        for week in sorted(w for w in self.retrain_weeks if since <= w + 1 <= self.week + 1):
            streak = [*streak, week] if week in self.rejected_weeks else []
        return tuple(streak)

    def champion_windows(self) -> list[WindowRecord]:
        return [w for w in self.windows if w.model_version == self.champion]

    def labeled_by(self, version: str, first: int, last: int | None = None) -> list[LabeledRecord]:
        """Labeled weeks scored by ``version`` in [first, last], oldest first."""
        end = self.week if last is None else last
        found = [r for r in self.labeled if r.model_version == version and first <= r.week <= end]
        return sorted(found, key=lambda r: r.week)

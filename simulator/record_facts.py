"""What a finished drill's record and event log say happened: the facts a postmortem is checked
against (``review.py``).

- **incident weeks**: from the injection week to the week a credited response took effect (a
  page to upstream takes ``upstream_fix_weeks`` more), or to the drill's end when nothing fixed it;
  0 in a control;
- **value lost**: the business value lost against a healthy system, from the injection on (the
  score's customer impact);
- **cause**: the drill's root cause, and the words a postmortem may name it with
  (``drills.yml``: ``cause_words``);
- **versions**: those that served customers, and every version the registry held (a rollback
  path must name one of these);
- **data weeks**: the weeks the versions were trained and gated on;
- **detection latency**: weeks of the fault played before the first declaration, and weeks
  after the first signal could be seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.drills import load_catalogue
from simulator.postmortem_prefill import SERVING_KINDS, VERSION_KINDS, drill_events
from simulator.records import DrillRecord


@dataclass(frozen=True)
class RecordFacts:
    drill_id: str
    incident: bool
    inject_week: int
    incident_weeks: int
    incident_end_week: int  # the last week the fault played unmitigated
    value_lost_usd: float | None
    value_at_stake_usd: float | None
    root_cause: str
    cause_words: tuple[str, ...]
    other_causes: dict[str, tuple[str, ...]]
    served_versions: tuple[str, ...]
    known_versions: tuple[str, ...]
    data_weeks: tuple[int, ...]
    exposed_weeks: int | None  # fault weeks played before the first declaration
    late_weeks: int | None  # weeks after the first signal could be seen


def _fixed_week(record: DrillRecord) -> int | None:
    """The week the first credited response after the injection took effect, if any."""
    catalogue = load_catalogue()
    spec = catalogue.drill(record.scenario)
    for declaration in sorted(record.declarations, key=lambda d: d.week):
        if declaration.week <= record.inject_week:
            continue
        if spec.credit(declaration.response, declaration.root_cause) > 0:
            delay = (
                catalogue.settings.upstream_fix_weeks
                if declaration.response == "page_upstream"
                else 0
            )
            return min(record.weeks, declaration.week + delay)
    return None


def facts_of(record: DrillRecord) -> RecordFacts:
    """The facts of a finished drill, from its record and its run's event log."""
    catalogue = load_catalogue()
    spec = catalogue.drill(record.scenario)
    events = drill_events(record)
    fixed = _fixed_week(record)
    end = record.weeks if fixed is None else fixed
    weeks = max(0, end - record.inject_week) if spec.incident else 0
    served = [e.model_version for e in events if e.kind in SERVING_KINDS and e.model_version]
    known = [e.model_version for e in events if e.kind in VERSION_KINDS and e.model_version]
    data: set[int] = set()
    for event in events:
        for key in ("train_weeks", "holdout_weeks"):
            found = event.evidence.get(key)
            if isinstance(found, list):
                data.update(int(w) for w in found if isinstance(w, int))
    first = min((d.week for d in record.declarations), default=None)
    seen = [s.first_week for s in record.debrief if s.first_week is not None]
    late = None
    if first is not None and seen:
        late = max(0, first - 1 - min(seen))
    return RecordFacts(
        drill_id=record.drill_id,
        incident=spec.incident,
        inject_week=record.inject_week,
        incident_weeks=weeks,
        incident_end_week=end - 1,
        value_lost_usd=record.value_lost_usd,
        value_at_stake_usd=record.value_at_stake_usd,
        root_cause=spec.root_cause,
        cause_words=catalogue.words_for(spec.root_cause),
        other_causes={
            cause: catalogue.words_for(cause)
            for cause in catalogue.root_causes
            if cause not in (spec.root_cause, "none")
        },
        served_versions=tuple(dict.fromkeys(served)),
        known_versions=tuple(dict.fromkeys(known)),
        data_weeks=tuple(sorted(data)),
        exposed_weeks=None if first is None else max(0, first - record.inject_week),
        late_weeks=late,
    )

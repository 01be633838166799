"""Row-level quarantine: a bad row is set aside with its reason and the rest of its batch is
scored; only a batch past ``capstone.max_bad_row_share`` (a broken feed) is held whole.

The oracle for "bad" is the world's own corruption, read from the batch directly (the rows whose
``tenure`` arrived null), not the contract code that ingest uses; and the service's batch route
must agree with ingest row by row: 422 naming the field for the quarantined row, 200 for the
accepted ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN, LABEL_COLUMN, validate_frame
from phase1_foundations.scenarios import NullFlood
from phase1_foundations.settings import Settings
from phase5_capstone import score_week, weekly
from phase5_capstone.context import Context
from phase5_capstone.events import SETUP_WEEK, Draft
from phase5_capstone.runner import bootstrap, build_context
from phase5_capstone.serving import ServiceError
from phase5_capstone.state import CycleState
from phase5_capstone.tests.conftest import smoke
from phase5_capstone.training import accepted_labeled, released_through

pytestmark = pytest.mark.slow
ONE_ROW = 0.0005  # of 2,000 rows: one null tenure
BROKEN_FEED = 0.6  # past the 0.5 limit: the batch is held


@dataclass
class Played:
    ctx: Context
    state: CycleState
    ingested: dict[int, Draft]
    scored: dict[int, tuple[Draft, ...]]


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    """Week 0 has one null tenure, week 1 a null flood on 60% of rows; ingest and score both."""
    scenario = smoke(weeks=3).model_copy(
        update={
            "world": (
                NullFlood(columns=("tenure",), fraction=ONE_ROW, start_week=0, end_week=0),
                NullFlood(columns=("tenure",), fraction=BROKEN_FEED, start_week=1, end_week=1),
            )
        }
    )
    state_dir = tmp_path_factory.mktemp("quarantine")
    ctx = build_context(scenario, base=Settings(state_dir=state_dir))
    try:
        state = bootstrap(ctx, SETUP_WEEK, CycleState()).state
        ingested, scored = {}, {}
        for week in (0, 1):
            outcome = weekly.ingest(ctx, week, state)
            ingested[week] = outcome.events[0]
            outcome = score_week.score(ctx, week, outcome.state)
            scored[week] = outcome.events
            state = outcome.state
        yield Played(ctx, state, ingested, scored)
    finally:
        ctx.close()


def _bad(ctx: Context, week: int) -> pd.Series:
    return ctx.world.week(week).features["tenure"].isna()


def test_one_bad_row_is_quarantined_with_its_reason_and_the_rest_is_scored(
    played: Played,
) -> None:
    ctx = played.ctx
    frame = ctx.world.week(0).features
    bad = _bad(ctx, 0)
    assert bad.sum() == 1
    event = played.ingested[0]
    assert event.kind == "quarantined"
    assert event.evidence["held"] is False
    assert (event.evidence["quarantined_rows"], event.evidence["accepted_rows"]) == (1, 1999)
    assert event.summary.startswith("1 row quarantined, 1,999 scored")
    kept = weekly.quarantined_rows(ctx, 0)
    assert kept is not None
    assert list(kept[ID_COLUMN]) == list(frame.loc[bad, ID_COLUMN])
    assert list(kept[weekly.REASONS_COLUMN]) == ["tenure: null values"]
    scores = weekly.read_scores(ctx, 0)
    assert scores is not None
    assert list(scores[ID_COLUMN]) == list(frame.loc[~bad, ID_COLUMN])  # all but that row
    assert played.scored[0][0].evidence["rows"] == 1999
    assert 0 not in played.state.quarantined_weeks  # the week goes on


def test_the_service_agrees_with_ingest_row_by_row(played: Played) -> None:
    """The quarantined row is one the batch route refuses, naming its field; accepted rows are
    ones it scores: one contract, two callers."""
    ctx = played.ctx
    frame = ctx.world.week(0).features
    bad = _bad(ctx, 0)
    columns = [ID_COLUMN, *FEATURE_NAMES]
    rejected = frame.loc[bad, columns].to_json(orient="records")
    with pytest.raises(ServiceError, match="422") as refused:
        ctx.service.request("POST", "/v1/predict/batch", f'{{"rows":{rejected}}}'.encode())
    detail = json.loads(str(refused.value).split(" 422 ", 1)[1])["detail"]
    assert {d["field"] for d in detail} == {"rows.0.tenure"}
    accepted = weekly.accepted_of(ctx, 0).head(20)[columns].to_json(orient="records")
    answer = ctx.service.request("POST", "/v1/predict/batch", f'{{"rows":{accepted}}}'.encode())
    assert len(answer["predictions"]) == 20  # type: ignore[arg-type]


def test_quarantined_rows_are_never_trained_on(played: Played) -> None:
    ctx = played.ctx
    labels = released_through(ctx.world, ctx.scenario.label_delay_weeks)
    trained = accepted_labeled(ctx, labels, (0,))
    bad_id = ctx.world.week(0).features.loc[_bad(ctx, 0), ID_COLUMN].iloc[0]
    assert bad_id not in set(trained[ID_COLUMN])
    assert len(trained) == 1999
    assert validate_frame(trained, require_label=True).ok  # phase 2's validate stage accepts it
    assert trained[LABEL_COLUMN].notna().all()


def test_a_batch_past_the_bad_row_share_is_held_whole(played: Played) -> None:
    ctx = played.ctx
    share = _bad(ctx, 1).mean()
    assert share > ctx.capstone.max_bad_row_share
    event = played.ingested[1]
    assert event.kind == "quarantined"
    assert event.evidence["held"] is True
    assert (event.evidence["quarantined_rows"], event.evidence["accepted_rows"]) == (2000, 0)
    assert event.summary.startswith("batch held: all 2,000 rows quarantined, 0 scored")
    assert "broken feed" in event.summary
    kept = weekly.quarantined_rows(ctx, 1)
    assert kept is not None
    assert len(kept) == 2000  # nothing lost: the whole batch, as it arrived
    reasons = kept.set_index(ID_COLUMN)[weekly.REASONS_COLUMN]
    nulls = ctx.world.week(1).features.set_index(ID_COLUMN)["tenure"].isna()
    assert (reasons[nulls.index[nulls]] == "tenure: null values").all()
    assert (reasons[nulls.index[~nulls]] == weekly.HELD_REASON).all()
    assert played.state.quarantined_weeks == (1,)
    assert played.scored[1] == ()  # nothing scored
    assert weekly.read_scores(ctx, 1) is None


def test_the_monitor_still_sees_the_flood(played: Played) -> None:
    """The good rows of week 0 are scored, and the monitor judges the whole batch as it came."""
    ctx = played.ctx
    frame, aligned = weekly.served_window(ctx, 0, str(played.state.champion))
    assert len(frame) == 2000  # the quarantined row included
    assert aligned is not None
    assert int(pd.isna(aligned).sum()) == 1  # and unscored
    assert Path(ctx.paths.week(0) / weekly.QUARANTINE_FILE).is_file()

"""The weekly world simulator: customers calibrated on the real Telco data, churn that is known.

Each week is built in an order that keeps cause and effect separable:

1. clean features: whole real customers resampled (so the joint structure is kept), with small
   jitter on tenure and charges;
2. world effects: covariate shift changes who the customers are;
3. labels: Bernoulli draws from the ground-truth churn mechanism (a logistic model fitted on the
   real data), moved by concept drift;
4. data-quality corruptions, applied to the emitted features only.

Every random draw comes from its own stream, seeded by (seed, week, purpose), so one scenario
effect cannot disturb the draws of another: concept drift leaves the features byte-identical to
the baseline world, and corruptions leave the labels alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LogisticRegression

from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    COLUMNS_BY_NAME,
    FEATURES,
    ID_COLUMN,
    LABEL_COLUMN,
    NUMERIC_FEATURES,
    CategoricalColumn,
    ContractViolation,
    NumericColumn,
    validate_frame,
)
from phase1_foundations.scenarios import (
    ConceptDrift,
    Condition,
    Corruption,
    CovariateShift,
    DuplicateRows,
    Interaction,
    LabelDelayChange,
    NewCategory,
    NullFlood,
    Scenario,
    SchemaBreak,
    SwappedColumns,
    UnitChange,
    categories_of,
    get_scenario,
)
from phase1_foundations.telco import load_all_customers

DEFAULT_ROWS_PER_WEEK = 2_000
DEFAULT_LABEL_DELAY_WEEKS = 4
EVENT_WEEK_COLUMN = "event_week"
ID_PREFIX = "w"
ID_WEEK_DIGITS = 5
ID_ROW_DIGITS = 7

TENURE = "tenure"
MONTHLY_CHARGES = "monthlycharges"
TOTAL_CHARGES = "totalcharges"
TENURE_JITTER_MONTHS = 1
MONTHLY_CHARGES_JITTER = 0.03  # sd of the log of the multiplicative jitter (about 3%)
TOTAL_CHARGES_NOISE = 0.01  # sd of the log-noise on top of the customer's own billing ratio
CENT_DECIMALS = 2

MECHANISM_REGULARIZATION = 1.0  # inverse L2 strength of the ground-truth logistic model
MECHANISM_MAX_ITER = 1_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ColumnValues = pd.Series | pd.Categorical | npt.NDArray[np.generic]


class Stream(IntEnum):
    """The purpose of a random stream; part of its seed so purposes never share draws."""

    SAMPLE = 0
    JITTER = 1
    LABEL = 2
    SHIFT = 3
    CORRUPT = 4


def make_rng(seed: int, week: int, stream: Stream, index: int = 0) -> np.random.Generator:
    """The generator for one (seed, week, purpose, effect position)."""
    return np.random.default_rng([seed, week, int(stream), index])


def _categorical_spec(name: str) -> CategoricalColumn:
    spec = COLUMNS_BY_NAME[name]
    if not isinstance(spec, CategoricalColumn):
        raise TypeError(f"{name!r} is not a categorical feature")
    return spec


def _numeric_spec(name: str) -> NumericColumn:
    spec = COLUMNS_BY_NAME[name]
    if not isinstance(spec, NumericColumn):
        raise TypeError(f"{name!r} is not a numeric feature")
    return spec


def _from_codes(codes: npt.NDArray[np.integer[Any]], dtype: pd.CategoricalDtype) -> pd.Categorical:
    # pandas-stubs type ``codes`` as Sequence[int]; pandas accepts (and prefers) an ndarray.
    return pd.Categorical.from_codes(codes, dtype=dtype)  # type: ignore[arg-type]


def category_codes(values: pd.Series, spec: CategoricalColumn) -> npt.NDArray[np.int16]:
    """Codes in the contract's category order; -1 for null or unknown values."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) and tuple(dtype.categories) == spec.categories:
        return values.cat.codes.to_numpy().astype(np.int16)
    codes = pd.Categorical(values.astype(object), categories=list(spec.categories)).codes
    return np.asarray(codes, dtype=np.int16)


def _sigmoid(logit: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ChurnMechanism:
    """The ground truth: churn log-odds as a sum of per-category and per-numeric terms.

    It is a logistic model on one-hot categoricals and standardized numerics, stored as lookup
    tables so scoring a million rows is a handful of vectorized gathers. Unknown categories add
    nothing, as if the customer were average on that feature.
    """

    intercept: float
    category_weights: dict[str, FloatArray]
    numeric_means: dict[str, float]
    numeric_scales: dict[str, float]
    numeric_weights: dict[str, float]

    def logit(self, features: pd.DataFrame) -> FloatArray:
        """Churn log-odds for clean features (a null numeric gives NaN: truth needs real x)."""
        total = np.full(len(features), self.intercept, dtype=np.float64)
        for name, weights in self.category_weights.items():
            codes = category_codes(features[name], _categorical_spec(name))
            # Code -1 picks the appended 0.0: unknown or null adds nothing.
            total += np.append(weights, 0.0)[codes]
        for name, weight in self.numeric_weights.items():
            values = features[name].to_numpy(dtype=np.float64)
            total += weight * (values - self.numeric_means[name]) / self.numeric_scales[name]
        return total

    def probability(self, features: pd.DataFrame) -> FloatArray:
        return _sigmoid(self.logit(features))


def fit_churn_mechanism(
    reference: pd.DataFrame, regularization: float = MECHANISM_REGULARIZATION
) -> ChurnMechanism:
    """Fit the ground-truth churn mechanism on labelled real customers."""
    blocks: list[FloatArray] = []
    for name in CATEGORICAL_FEATURES:
        spec = _categorical_spec(name)
        blocks.append(np.eye(len(spec.categories))[category_codes(reference[name], spec)])
    means: dict[str, float] = {}
    scales: dict[str, float] = {}
    for name in NUMERIC_FEATURES:
        values = reference[name].to_numpy(dtype=np.float64)
        means[name] = float(values.mean())
        scales[name] = float(values.std()) or 1.0
        blocks.append(((values - means[name]) / scales[name])[:, None])
    model = LogisticRegression(C=regularization, max_iter=MECHANISM_MAX_ITER)
    model.fit(np.hstack(blocks), reference[LABEL_COLUMN].to_numpy())
    coefficients = np.asarray(model.coef_[0], dtype=np.float64)
    category_weights: dict[str, FloatArray] = {}
    start = 0
    for name in CATEGORICAL_FEATURES:
        width = len(categories_of(name))
        category_weights[name] = coefficients[start : start + width]
        start += width
    numeric_weights = {
        name: float(w) for name, w in zip(NUMERIC_FEATURES, coefficients[start:], strict=True)
    }
    return ChurnMechanism(
        intercept=float(model.intercept_[0]),
        category_weights=category_weights,
        numeric_means=means,
        numeric_scales=scales,
        numeric_weights=numeric_weights,
    )


@dataclass(frozen=True, eq=False)
class Calibration:
    """What the world learns once from the real customers: their rows and how they churn."""

    codes: dict[str, npt.NDArray[np.int16]]
    numbers: dict[str, FloatArray]
    billing_ratio: FloatArray
    mechanism: ChurnMechanism

    @property
    def size(self) -> int:
        return len(self.billing_ratio)


def calibrate_world(reference: pd.DataFrame) -> Calibration:
    """Check the reference against the contract and learn the world from it."""
    report = validate_frame(reference, require_id=False, require_label=True)
    if not report.ok:
        raise ContractViolation(report)
    codes: dict[str, npt.NDArray[np.int16]] = {}
    numbers: dict[str, FloatArray] = {}
    for spec in FEATURES:
        if isinstance(spec, CategoricalColumn):
            codes[spec.name] = category_codes(reference[spec.name], spec)
        else:
            numbers[spec.name] = reference[spec.name].to_numpy(dtype=np.float64)
    tenure = reference[TENURE].to_numpy(dtype=np.float64)
    monthly = reference[MONTHLY_CHARGES].to_numpy(dtype=np.float64)
    billed = tenure * monthly
    total = reference[TOTAL_CHARGES].to_numpy(dtype=np.float64)
    # Each customer's total over tenure x monthly keeps their own billing history (past prices).
    ratio = np.divide(total, billed, out=np.ones_like(total), where=billed > 0)
    return Calibration(codes, numbers, ratio, fit_churn_mechanism(reference))


@lru_cache(maxsize=1)
def calibrate_default_world() -> Calibration:
    """The calibration on every real customer, loaded and fitted once per process."""
    return calibrate_world(load_all_customers())


def make_customer_ids(week: int, rows: int) -> list[str]:
    """Ids unique across weeks: the week and the row position, zero-padded so they sort."""
    width = max(ID_ROW_DIGITS, len(str(rows - 1)))
    prefix = f"{ID_PREFIX}{week:0{ID_WEEK_DIGITS}d}-"
    return list(map(f"{prefix}{{:0{width}d}}".format, range(rows)))  # a fifth faster than a loop


def _bounds(name: str) -> tuple[float, float]:
    spec = _numeric_spec(name)
    return spec.minimum, spec.maximum


def sample_customers(calibration: Calibration, rows: int, week: int, seed: int) -> pd.DataFrame:
    """Clean features: resampled real customers with jittered tenure and charges."""
    sample = make_rng(seed, week, Stream.SAMPLE)
    picked = sample.integers(0, calibration.size, size=rows)
    jitter = make_rng(seed, week, Stream.JITTER)
    steps = jitter.integers(-TENURE_JITTER_MONTHS, TENURE_JITTER_MONTHS + 1, size=rows)
    monthly_noise = jitter.normal(0.0, MONTHLY_CHARGES_JITTER, size=rows)
    total_noise = jitter.normal(0.0, TOTAL_CHARGES_NOISE, size=rows)

    tenure = calibration.numbers[TENURE][picked].astype(np.int64)
    _, tenure_max = _bounds(TENURE)
    # New customers (tenure 0, not billed yet) stay new; the others stay at least a month old.
    tenure = np.where(tenure == 0, 0, np.clip(tenure + steps, 1, int(tenure_max)))
    monthly = calibration.numbers[MONTHLY_CHARGES][picked] * np.exp(monthly_noise)
    monthly = np.clip(np.round(monthly, CENT_DECIMALS), *_bounds(MONTHLY_CHARGES))
    total = calibration.billing_ratio[picked] * tenure * monthly * np.exp(total_noise)
    total = np.clip(np.round(total, CENT_DECIMALS), *_bounds(TOTAL_CHARGES))

    data: dict[str, ColumnValues] = {
        ID_COLUMN: pd.Series(make_customer_ids(week, rows), dtype=object)
    }
    for spec in FEATURES:
        if isinstance(spec, CategoricalColumn):
            data[spec.name] = _from_codes(calibration.codes[spec.name][picked], spec.dtype)
        elif spec.name == TENURE:
            data[spec.name] = tenure
        elif spec.name == MONTHLY_CHARGES:
            data[spec.name] = monthly.astype(np.float64)
        elif spec.name == TOTAL_CHARGES:
            data[spec.name] = total.astype(np.float64)
        else:
            data[spec.name] = calibration.numbers[spec.name][picked].astype(spec.dtype)
    return pd.DataFrame(data)


def _count(rows: int, share: float) -> int:
    return round(rows * share)


def _pick_rows(rng: np.random.Generator, rows: int, share: float) -> IntArray:
    return np.sort(rng.choice(rows, size=_count(rows, share), replace=False))


def _with_column(frame: pd.DataFrame, name: str, values: ColumnValues) -> pd.DataFrame:
    """A copy of ``frame`` with one column replaced; the input frame is never modified."""
    out = frame.copy(deep=False)
    out[name] = values
    return out


def shift_covariate(
    frame: pd.DataFrame, effect: CovariateShift, intensity: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Move one feature's distribution, keeping it inside the contract."""
    spec = COLUMNS_BY_NAME[effect.feature]
    values = frame[effect.feature]
    if isinstance(spec, NumericColumn):
        scale = 1.0 + intensity * (effect.scale - 1.0)
        moved = values.to_numpy(dtype=np.float64) * scale + intensity * effect.shift
        moved = np.clip(moved, spec.minimum, spec.maximum)
        shifted = np.round(moved).astype(np.int64) if spec.integer else moved
        return _with_column(frame, spec.name, shifted)
    target = spec.categories.index(str(effect.toward))
    codes = category_codes(values, spec)
    move = (codes != target) & (rng.random(len(codes)) < intensity * effect.fraction)
    codes = np.where(move, target, codes)
    return _with_column(frame, spec.name, _from_codes(codes, spec.dtype))


def flood_nulls(
    frame: pd.DataFrame, effect: NullFlood, intensity: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Null a share of each chosen column (integers become floats, as a CSV reader would do)."""
    out = frame.copy(deep=False)
    for name in effect.columns:
        mask = np.zeros(len(frame), dtype=bool)
        mask[_pick_rows(rng, len(frame), intensity * effect.fraction)] = True
        out[name] = frame[name].mask(mask)
    return out


def change_units(
    frame: pd.DataFrame, effect: UnitChange, intensity: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Multiply a share of a numeric column by the unit factor."""
    values = frame[effect.column]
    factors = np.ones(len(frame))
    factors[_pick_rows(rng, len(frame), intensity * effect.fraction)] = effect.factor
    changed = values.to_numpy(dtype=np.float64) * factors
    if pd.api.types.is_integer_dtype(values) and effect.factor.is_integer():
        return _with_column(frame, effect.column, changed.astype(np.int64))
    return _with_column(frame, effect.column, changed)


def add_new_category(
    frame: pd.DataFrame, effect: NewCategory, intensity: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Give a share of a categorical column a value the contract does not know."""
    values = frame[effect.column].astype("category")
    known = list(values.cat.categories)
    categories = known if effect.category in known else [*known, effect.category]
    codes = values.cat.codes.to_numpy().astype(np.int16)
    codes[_pick_rows(rng, len(frame), intensity * effect.fraction)] = categories.index(
        effect.category
    )
    replaced = _from_codes(codes, pd.CategoricalDtype(categories))
    return _with_column(frame, effect.column, replaced)


def swap_columns(frame: pd.DataFrame, effect: SwappedColumns) -> pd.DataFrame:
    """Exchange the values (and dtypes) of two columns, keeping the column order."""
    first, second = effect.columns
    out = frame.copy(deep=False)
    out[first], out[second] = frame[second], frame[first]
    return out


def duplicate_rows(
    frame: pd.DataFrame, effect: DuplicateRows, intensity: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Append copies of a share of the rows after the originals."""
    repeated = frame.iloc[_pick_rows(rng, len(frame), intensity * effect.fraction)]
    return pd.concat([frame, repeated], ignore_index=True)


def break_schema(frame: pd.DataFrame, effect: SchemaBreak) -> pd.DataFrame:
    """Drop a column, or rename it."""
    if effect.rename_to is None:
        return frame.drop(columns=[effect.column])
    return frame.rename(columns={effect.column: effect.rename_to})


def apply_corruption(
    frame: pd.DataFrame, effect: Corruption, intensity: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Apply one data-quality effect at the given intensity."""
    if isinstance(effect, UnitChange):
        return change_units(frame, effect, intensity, rng)
    if isinstance(effect, NewCategory):
        return add_new_category(frame, effect, intensity, rng)
    if isinstance(effect, NullFlood):
        return flood_nulls(frame, effect, intensity, rng)
    if isinstance(effect, SwappedColumns):
        return swap_columns(frame, effect)
    if isinstance(effect, DuplicateRows):
        return duplicate_rows(frame, effect, intensity, rng)
    return break_schema(frame, effect)


def corrupt_features(
    features: pd.DataFrame, scenario: Scenario, week: int, seed: int
) -> pd.DataFrame:
    """Apply a scenario's active data-quality effects to a frame, in ``CORRUPTION_ORDER``."""
    for index, effect in scenario.corruptions():
        intensity = effect.intensity(week)
        if intensity > 0.0:
            rng = make_rng(seed, week, Stream.CORRUPT, index)
            features = apply_corruption(features, effect, intensity, rng)
    return features


def _holds(values: pd.Series, condition: Condition) -> npt.NDArray[np.bool_]:
    """Which rows meet one condition of an interaction (a null never does)."""
    if condition.categories:
        return np.asarray(values.isin(list(condition.categories)).to_numpy(), dtype=bool)
    numbers = values.to_numpy(dtype=np.float64)
    low = -np.inf if condition.low is None else condition.low
    high = np.inf if condition.high is None else condition.high
    return np.asarray((numbers >= low) & (numbers < high), dtype=bool)


@dataclass(frozen=True, eq=False)
class WeekBatch:
    """One simulated week: what the service sees, and the truth it must wait for.

    ``features`` is what arrives for scoring (the id and features, corrupted by the scenario).
    ``labels`` (customer id, churn, event week) and ``churn_probability`` are hidden: they belong
    to the world, and reach the system only through ``World.labels_released``.
    """

    week: int
    features: pd.DataFrame
    labels: pd.DataFrame
    churn_probability: FloatArray
    label_release_week: int


def _labels_frame(ids: pd.Series, churn: IntArray, week: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            ID_COLUMN: ids.to_numpy(dtype=object),
            LABEL_COLUMN: churn,
            EVENT_WEEK_COLUMN: np.full(len(churn), week, dtype=np.int64),
        }
    )


class World:
    """A reproducible weekly stream of customers whose churn follows a known mechanism.

    The same seed, scenario, volume and reference give byte-identical weeks. The reference (real,
    labelled customers) defaults to every real Telco customer and is loaded on first use.
    """

    def __init__(
        self,
        seed: int,
        scenario: Scenario | str = "baseline",
        rows_per_week: int = DEFAULT_ROWS_PER_WEEK,
        label_delay_weeks: int = DEFAULT_LABEL_DELAY_WEEKS,
        reference: pd.DataFrame | None = None,
    ) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if rows_per_week < 1:
            raise ValueError(f"rows_per_week must be >= 1, got {rows_per_week}")
        if label_delay_weeks < 0:
            raise ValueError(f"label_delay_weeks must be >= 0, got {label_delay_weeks}")
        self.seed = seed
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        self.rows_per_week = rows_per_week
        self.label_delay_weeks = label_delay_weeks
        self._reference = reference

    @cached_property
    def calibration(self) -> Calibration:
        if self._reference is None:
            return calibrate_default_world()
        return calibrate_world(self._reference)

    @property
    def mechanism(self) -> ChurnMechanism:
        return self.calibration.mechanism

    def churn_logit(self, features: pd.DataFrame, week: int) -> FloatArray:
        """The world's true churn log-odds for clean features in a week (concept drift included)."""
        logit = self.mechanism.logit(features)
        for _, effect in self.scenario.effects_of(ConceptDrift):
            intensity = effect.intensity(week)
            if intensity > 0.0:
                segment = features[effect.feature].isin(list(effect.categories)).to_numpy()
                logit = logit + np.where(segment, intensity * effect.logit_delta, 0.0)
        for _, term in self.scenario.effects_of(Interaction):
            intensity = term.intensity(week)
            if intensity > 0.0:
                inside = np.ones(len(features), dtype=bool)
                for condition in term.conditions:
                    inside &= _holds(features[condition.feature], condition)
                logit = logit + np.where(inside, intensity * term.logit_delta, 0.0)
        return logit

    def churn_probability(self, features: pd.DataFrame, week: int) -> FloatArray:
        """The world's true probability that each customer churns, given clean features."""
        return _sigmoid(self.churn_logit(features, week))

    def _simulate(self, week: int) -> tuple[pd.DataFrame, FloatArray, IntArray]:
        """The week's true customers (after covariate shift), churn probabilities and labels."""
        if week < 0:
            raise ValueError(f"week must be >= 0, got {week}")
        features = sample_customers(self.calibration, self.rows_per_week, week, self.seed)
        for index, effect in self.scenario.effects_of(CovariateShift):
            intensity = effect.intensity(week)
            if intensity > 0.0:
                rng = make_rng(self.seed, week, Stream.SHIFT, index)
                features = shift_covariate(features, effect, intensity, rng)
        probability = self.churn_probability(features, week)
        draws = make_rng(self.seed, week, Stream.LABEL).random(len(features))
        churn = (draws < probability).astype(np.int64)
        return features, probability, churn

    def week(self, week: int) -> WeekBatch:
        """One week's batch; the same arguments always give the same bytes."""
        features, probability, churn = self._simulate(week)
        labels = _labels_frame(features[ID_COLUMN], churn, week)
        emitted = corrupt_features(features, self.scenario, week, self.seed)
        return WeekBatch(week, emitted, labels, probability, self.label_release_week(week))

    def weeks(self, start: int, stop: int) -> Iterator[WeekBatch]:
        """Weeks ``start`` up to (not including) ``stop``, built one at a time."""
        return (self.week(w) for w in range(start, stop))

    def __iter__(self) -> Iterator[WeekBatch]:
        """Every week from week 0, without end: stop it with ``islice`` or a break."""
        return (self.week(w) for w in itertools.count())

    def label_delay(self, event_week: int) -> int:
        """How many weeks after ``event_week`` its labels arrive (the latest change wins)."""
        delay = self.label_delay_weeks
        latest = -1
        for _, effect in self.scenario.effects_of(LabelDelayChange):
            if latest <= effect.start_week <= event_week:
                delay, latest = effect.delay_weeks, effect.start_week
        return delay

    def label_release_week(self, event_week: int) -> int:
        """The week at which ``event_week``'s labels reach ``labels_released``."""
        return event_week + self.label_delay(event_week)

    def labels_released(self, week: int) -> pd.DataFrame:
        """Labels that become available at ``week``: customer id, churn and event week."""
        longest = max(
            [self.label_delay_weeks]
            + [e.delay_weeks for _, e in self.scenario.effects_of(LabelDelayChange)]
        )
        frames: list[pd.DataFrame] = []
        for event_week in range(max(0, week - longest), week + 1):
            if self.label_release_week(event_week) == week:
                features, _, churn = self._simulate(event_week)
                frames.append(_labels_frame(features[ID_COLUMN], churn, event_week))
        if not frames:
            return _labels_frame(pd.Series([], dtype=object), np.zeros(0, np.int64), 0)
        return pd.concat(frames, ignore_index=True)

"""Simulated canaries on real customers, to measure what the guardrails decide.

Traffic is the Telco test customers (out of sample for every model here), drawn at random with
replacement and routed by the service's own sticky hash (``canary_bucket``). The champion is the
configured pipeline trained on the training rows. A *healthy* challenger is the same pipeline
trained on a bootstrap resample of those rows: equal in skill and in score distribution, but not
identical. Rows arrive in micro-batches of random size; each challenger call has a realistic,
noisy latency (log-normal around a few milliseconds, with rare spikes) and a small base rate of
failed calls below the limit (a failed call fails all its rows). The probe (the challenger's
offline rows scored live, which the service runs once per plan ahead of the first look) is the
test customers, scored as the challenger serves them, beside the scores evaluation gave them.

The bad challengers are what a canary exists to catch, the ways a model that passed its gate
can still fail live: a serving package that reads a feature in other units (``skewed``: tenure
in years where training used months, so the same rows score elsewhere live than offline), slow
calls, failing calls. A challenger trained on shuffled labels (``shuffled``) is the gate's to
stop, on labels; live it scores exactly as it did offline, so the canary only reports how far it
is from the champion (the business view).

The guardrails see exactly what the service records (``Observations``) and are tested at the
service's schedule of looks (``GuardrailPolicy``), until a breach or the last look.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN, LABEL_COLUMN, to_model_frame
from phase1_foundations.scenarios import NumericFeature
from phase1_foundations.telco import load_telco
from phase2_pipelines.params import load_params
from phase2_pipelines.train import fit_model, predict_scores
from phase3_serving.guardrails import GuardrailDecision, GuardrailPolicy, Observations, Stage
from phase3_serving.rollout import canary_bucket

CANARY_PERCENT = 20.0
MEAN_BATCH_ROWS = 20  # rows per micro-batched call under load
HEALTHY_POOL = 20  # healthy challengers, each trained on its own bootstrap resample
SKEWED_FEATURE: NumericFeature = "tenure"
SKEWED_FACTOR = 1 / 12  # the serving package reads tenure in years; training used months


@dataclass(frozen=True)
class Behaviour:
    """How a challenger behaves in production, apart from its scores."""

    error_rate: float = 0.002  # failed calls: a small base rate, below the 2% limit
    latency_median_ms: float = 4.0
    latency_sigma: float = 0.5
    spike_rate: float = 0.01  # a garbage-collection pause, say
    spike_factor: float = 10.0


@dataclass(frozen=True)
class Replay:
    """Real customers and every model's scores for them."""

    customer_ids: list[str]
    in_canary: np.ndarray  # the sticky hash at CANARY_PERCENT
    champion: np.ndarray
    healthy: list[np.ndarray]  # one per healthy challenger: live scores, equal to offline ones
    skewed: np.ndarray  # healthy[0]'s pipeline served with tenure in years: its live scores
    shuffled: np.ndarray  # a challenger trained on shuffled labels: scores that mean nothing


@dataclass(frozen=True)
class Outcome:
    rolled_back: bool
    guardrail: str | None
    look: int | None
    challenger_requests: int  # when it was stopped, or when the last look passed
    verdict: GuardrailDecision | None  # the breach, or the last look's evidence

    @property
    def reason(self) -> str | None:
        return self.verdict.breach.reason if self.verdict and self.verdict.breach else None

    def evidence(self, guardrail: str) -> str:
        """What the last look said about one guardrail."""
        if self.verdict is None:
            return "no look was taken"
        return next(c.reason for c in self.verdict.checks if c.check == guardrail)


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def rollbacks(self) -> int:
        return sum(o.rolled_back for o in self.outcomes)

    @property
    def rate(self) -> float:
        return self.rollbacks / len(self.outcomes)

    def requests_to_rollback(self) -> list[int]:
        return [o.challenger_requests for o in self.outcomes if o.rolled_back]


def build_replay(seed: int = 0, pool: int = HEALTHY_POOL) -> Replay:
    splits, params = load_telco(), load_params()
    train, test = splits.train, splits.test
    champion = fit_model(train, params.train)
    rng = np.random.default_rng(seed)
    healthy, models = [], []
    for _ in range(pool):
        resample = train.iloc[rng.integers(0, len(train), len(train))].copy()
        resample[ID_COLUMN] = [f"{c}-r{i}" for i, c in enumerate(resample[ID_COLUMN])]  # unique
        models.append(fit_model(resample, params.train))
        healthy.append(predict_scores(models[-1], test))
    served = to_model_frame(test[list(FEATURE_NAMES)])  # what the pipeline is given, then
    served[SKEWED_FEATURE] = served[SKEWED_FEATURE].astype(float) * SKEWED_FACTOR  # the package
    shuffled = train.copy()
    shuffled[LABEL_COLUMN] = rng.permutation(shuffled[LABEL_COLUMN].to_numpy())
    ids = test[ID_COLUMN].astype(str).tolist()
    return Replay(
        customer_ids=ids,
        in_canary=np.array([canary_bucket(i) < CANARY_PERCENT for i in ids]),
        champion=predict_scores(champion, test),
        healthy=healthy,
        skewed=models[0].predict_proba(served)[:, 1],
        shuffled=predict_scores(fit_model(shuffled, params.train), test),
    )


def replay_canary(
    policy: GuardrailPolicy,
    replay: Replay,
    challenger: np.ndarray,
    behaviour: Behaviour,
    rng: np.random.Generator,
    stage: Stage = Stage.CANARY,
    offline: np.ndarray | None = None,
) -> Outcome:
    """One canary (or shadow): micro-batches of random customers until a breach or the last
    look. ``challenger`` holds its live scores of the test customers, ``offline`` the scores
    evaluation gave them (by default the same: no skew); the probe compares the two."""
    seen = Observations.empty(policy)
    seen.record_probe(challenger, challenger if offline is None else offline)
    done = 0
    n = len(replay.customer_ids)
    verdict = None
    while done < len(policy.looks):
        rows = rng.integers(0, n, 1 + rng.poisson(MEAN_BATCH_ROWS - 1))
        canary = rows[replay.in_canary[rows]]
        seen.record_champion(replay.champion[rows[~replay.in_canary[rows]]])
        if len(canary):
            failed = rng.random() < behaviour.error_rate  # the call, with all its rows
            latency = behaviour.latency_median_ms * np.exp(rng.normal(0, behaviour.latency_sigma))
            if rng.random() < behaviour.spike_rate:
                latency *= behaviour.spike_factor
            scores = challenger[canary[:0]] if failed else challenger[canary]
            seen.record_challenger(policy, latency, len(canary), scores)
        look = policy.due_look(seen.requests, done)
        if look is None:
            continue
        done = look + 1
        verdict = policy.check(seen, look, stage)
        if verdict.breach is not None:
            breach = verdict.breach
            return Outcome(True, breach.check, verdict.look, seen.requests, verdict)
    return Outcome(False, None, None, seen.requests, verdict)


def run_canaries(
    policy: GuardrailPolicy,
    replay: Replay,
    canaries: int,
    behaviour: Behaviour,
    challengers: list[np.ndarray],
    seed: int,
    stage: Stage = Stage.CANARY,
    offline: list[np.ndarray] | None = None,
) -> Tally:
    """``canaries`` independent canaries (or shadows), cycling through ``challengers`` (and
    their ``offline`` scores, if they differ from their live ones)."""
    rng = np.random.default_rng(seed)
    tally = Tally()
    for i in range(canaries):
        challenger = challengers[i % len(challengers)]
        own = None if offline is None else offline[i % len(offline)]
        tally.outcomes.append(replay_canary(policy, replay, challenger, behaviour, rng, stage, own))
    return tally


@dataclass(frozen=True)
class BadChallenger:
    """A challenger a canary must stop, and the guardrail whose limit should stop it."""

    kind: str
    guardrail: str
    behaviour: Behaviour = Behaviour()
    skewed: bool = False  # its live scores are ``Replay.skewed``, offline ``healthy[0]``

    def run(self, policy: GuardrailPolicy, replay: Replay, canaries: int, seed: int) -> Tally:
        if self.skewed:
            live, offline = [replay.skewed], [replay.healthy[0]]
            return run_canaries(
                policy, replay, canaries, self.behaviour, live, seed, offline=offline
            )
        return run_canaries(policy, replay, canaries, self.behaviour, replay.healthy, seed)


BAD_CHALLENGERS = (
    BadChallenger("serving skew (tenure read in years)", "score_skew_psi", skewed=True),
    BadChallenger(
        "slow calls (~400 ms each)",
        "p95_latency_ms",
        Behaviour(latency_median_ms=400.0, latency_sigma=0.3),
    ),
    BadChallenger("failing calls (8% of them)", "error_rate", Behaviour(error_rate=0.08)),
)

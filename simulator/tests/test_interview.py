"""The interview bank, its claims rubric, the mock loop and questions drawn from the user's drills.

The answers below are written by hand, by people, in this file; none is generated from the
bank's concepts. FLUENT_WRONG answers read well and are wrong (at least one per domain): they
must score at most 30. OTHER_WORDS answers are right and avoid the reference answers' phrasing
(at least one per domain): they must score at least 70. The reference answers must score 90.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from simulator.interview import (
    InterviewAttempt,
    Question,
    QuestionBank,
    drill_facts,
    load_bank,
    personalize,
    plan_mock_loop,
    read_attempts,
    record_attempt,
    record_self_assessment,
)
from simulator.interview_scoring import attempt_of, score_answer
from simulator.postmortem import write_postmortem
from simulator.postmortem_prefill import prefill_postmortem
from simulator.records import SimulatorPaths
from simulator.tests.postmortem_fixtures import DECLARED_WEEK, saved_drill

OFF_TOPIC = (
    "I enjoy cooking pasta on Sundays because the kitchen smells of basil and it relaxes me,"
    " so that is how I spend my weekends rather than hiking in the hills."
)
MAKE_TARGET = re.compile(r"^([a-zA-Z0-9_-]+):", re.MULTILINE)
LESSON = PROJECT_ROOT / "simulator" / "README.md"
WRONG_AT_MOST = 30.0
OTHER_WORDS_AT_LEAST = 70.0
REFERENCE_AT_LEAST = 90.0

FLUENT_WRONG: dict[str, str] = {
    "behavioral-incomplete-info": (
        "I never decide without complete information; I wait until all the data is in, because "
        "acting early is reckless."
    ),
    "behavioral-ownership": (
        "It was the data team's fault, they sent bad data. The engineer who made the mistake was "
        "moved off the project, and the issue went away."
    ),
    "behavioral-postmortem": (
        "A good postmortem finds who was responsible, so that person can be held accountable and "
        "it does not happen again. The root cause is whatever the dashboard showed, like the AUC "
        "drop. Action items do not need owners because everyone reads the document, and the "
        "impact section is optional."
    ),
    "behavioral-pressure": (
        "I just do what the business says, it is their call, and there is no need to write "
        "anything down."
    ),
    "behavioral-stakeholder-doubt": (
        "The model is right; the stakeholder does not understand statistics. I would explain that"
        " our AUC is high and move on."
    ),
    "behavioral-uncertainty": (
        "I give one number so it sounds confident; ranges just confuse people. Talking about what"
        " could change the estimate makes us look unsure, so I hide the uncertainty. I list every"
        " caveat and let them decide, because it is their call."
    ),
    "design-batch-vs-online": (
        "I would always choose a real-time API because real time is always better than batch, and"
        " batch jobs are legacy. Batch scoring and the API can use different feature code since "
        "they serve different teams."
    ),
    "design-data-triggered": (
        "Nothing really changes: the pipeline still runs when someone merges code, and new data "
        "just gets picked up on the next run. We retrain on every new batch because fresher data "
        "always makes a better model. Validating the data is unnecessary since the code did not "
        "change, and an automatic retrain can ship straight away because it uses fresh data. "
        "Logging each decision is overkill for a small team."
    ),
    "design-many-models": (
        "We would deploy one server per model and hard-code the version into each deployment, "
        "which keeps things simple. A single global switch can roll every model back at once, "
        "which is safer."
    ),
    "design-orchestration": (
        "Every ML project needs Airflow from day one, and retries are always safe so steps do not"
        " need to be idempotent."
    ),
    "design-pipeline-stages": (
        "One notebook that runs everything from top to bottom is the simplest pipeline. To be "
        "safe we rerun the whole pipeline from scratch every time anything changes."
    ),
    "design-skew": (
        "We prevent it by having the backend team rewrite the feature code in Java for the "
        "service, since Python is too slow there. Skew cannot happen once both sides follow the "
        "same spec document, so there is no need to monitor predictions. The schema of the API is"
        " maintained by hand separately from training."
    ),
    "lifecycle-auto-retrain": (
        "We retrain on every drift alert and promote every retrain automatically, because a newer"
        " model trained on fresher data is always better. A gate would only slow us down, and "
        "logging decisions is unnecessary when the pipeline is automatic."
    ),
    "lifecycle-data-quality": (
        "The model is robust, it will cope with bad data, so we do not validate inputs. When "
        "values are missing we silently fill them with the mean and carry on, which keeps the "
        "pipeline green."
    ),
    "lifecycle-experiments": (
        "I keep the results in a spreadsheet, which is simpler than a tracking server. I compare "
        "models on the test set and pick whichever scores highest there, since that is the most "
        "realistic data. Runs trained on different data can be compared directly because the "
        "metric is the same."
    ),
    "lifecycle-promotion": (
        "If the new model has a higher accuracy on the test set than the current one, we ship it,"
        " because a better number is a better model. Confidence intervals are overkill for this; "
        "any improvement counts. We look at the overall metric only, since segments just add "
        "noise to the decision. A random split of all the data is the fairest test because every "
        "week is represented."
    ),
    "lifecycle-registry": (
        "We do not use a model registry because copying pickle files to the server is simpler, so"
        " that nobody needs to learn a new tool. Aliases like champion are pointless since the "
        "file name already tells you the model version. If something goes wrong we retrain the "
        "model to roll back, which is the cleanest fix. Nobody needs a history of promotions "
        "because the team knows which model is live."
    ),
    "lifecycle-reproducibility": (
        "Setting a global random seed makes training reproducible, so that is all we do. "
        "Versioning the data is unnecessary because the data does not change, and we use the "
        "latest versions of every library."
    ),
    "monitoring-drift": (
        "We compare each week with the previous week and alert when a statistical test gives p "
        "below 0.05. False alarms are not a problem because more alerts are safer."
    ),
    "monitoring-drift-vs-harm": (
        "Yes, immediately. A drift alert means the model is degrading, so we retrain straight "
        "away on the latest data, because retraining always fixes drift. Waiting for labels is "
        "pointless and a single week of drift is enough evidence. Looking for a root cause is "
        "unnecessary since the new model will learn whatever changed."
    ),
    "monitoring-healthy-infra": (
        "If the infrastructure is green then the model is fine, so the problem must be the metric"
        " or the labels. Latency and error rate are enough to know the model works. I would "
        "restart the pods to be safe and wait for it to recover."
    ),
    "monitoring-label-delay": (
        "Nothing can be monitored until the labels arrive, so we just wait four weeks and then "
        "look at accuracy."
    ),
    "monitoring-retrain-or-rollback": (
        "I always retrain, because rolling back is admitting failure. If the new model is bad, we"
        " roll back by retraining on the latest data, and broken data does not matter since the "
        "model adapts."
    ),
    "monitoring-value": (
        "Yes, the AUC is still high, so the model is delivering value. Without labels you cannot "
        "know anything, so we wait for them. Comparing with the old model is not needed."
    ),
    "project-end-to-end": (
        "I trained an XGBoost model in a notebook and deployed it to a server, and once it was in"
        " production the project was done. Monitoring was not needed because the model had 0.95 "
        "accuracy."
    ),
    "project-failure-modes": (
        "Our system protects against everything, there are no gaps. The model is robust to bad "
        "data so we never needed a contract, and retrains always produce a better model so the "
        "gate rarely matters. Infrastructure failures are the cloud provider's problem."
    ),
    "project-hardest-decision": (
        "It was obvious, there was no real choice; we went with what the senior engineer wanted."
    ),
    "project-rebuild": ("Nothing, I would change nothing, it is perfect as it is."),
    "project-testing": (
        "We mock everything so the tests are fast, and a good AUC on the test set is enough "
        "testing for the model."
    ),
    "project-tradeoffs": (
        "There were no real trade-offs; we picked the best tool for every job. Everything we "
        "chose was the industry standard, so nothing would make us change our minds. An "
        "orchestrator and a Postgres-backed MLflow were obviously required from day one."
    ),
    "serving-expensive-low-traffic": (
        "Keep several GPU replicas running all the time to be safe, because cold starts are "
        "unacceptable. Batching is pointless for low traffic."
    ),
    "serving-gpu": (
        "Our system already runs on GPUs, so we just put the model in a container and Kubernetes "
        "finds the GPU automatically. A GPU is always faster than a CPU, so we always use one, "
        "and we send one request at a time because batching only adds latency. Measuring cost per"
        " prediction is not necessary since GPUs are the standard now."
    ),
    "serving-hot-swap": (
        "We restart the service to pick up the new model; a few failed requests during the "
        "restart are fine. Checking the artifact is overkill because the registry is trusted."
    ),
    "serving-rollout": (
        "We deploy the new model to all traffic at once on a Friday evening, because a staged "
        "rollout is overkill for a model that already passed offline tests. Shadow mode is a "
        "waste of compute. If something looks off, someone watches the dashboards and rolls back "
        "by hand, and we check the canary metrics every few minutes with a plain t-test."
    ),
    "serving-scaling": (
        "Just add more servers whenever it gets slow; measuring is a waste of time. Making the "
        "endpoint async makes the model call fast, so the event loop is never a problem."
    ),
    "serving-tradeoffs": (
        "The most accurate model should always be the one we serve, because accuracy is what the "
        "business pays for. Latency and cost are engineering details."
    ),
}

OTHER_WORDS: dict[str, str] = {
    "behavioral-incomplete-info": (
        "During an incident the predictions shifted right after a hand release, but the labels "
        "that would prove harm were a week away. Holding off would have meant another week of "
        "possibly bad campaign decisions, so I compared that with the risk of acting on a false "
        "alarm. I rolled back, since that can be reversed with one command if I was wrong. A week"
        " later the labels showed the new model really was broken."
    ),
    "behavioral-ownership": (
        "I was on call for the churn model when a retrain learned from a week of broken data and "
        "got promoted. Around 2,000 customers a week were targeted wrongly for two weeks, roughly"
        " 3,000 dollars of campaign value. The review was blameless and focused on the process "
        "that let it through rather than on who pushed the button. Afterwards we added a contract"
        " check before training so a broken week is quarantined."
    ),
    "behavioral-postmortem": (
        "It has to be blameless, otherwise engineers keep quiet about what they actually did and "
        "you lose the facts. It should state who was affected, for how long, and what it cost in "
        "money, because that tells you how much to invest in the fix. It goes deeper than what "
        "the alert showed, to the mechanism, and asks why no test, gate or monitor caught it. And"
        " every follow-up is marked as preventing or mitigating, with a named owner, or it never "
        "gets done."
    ),
    "behavioral-pressure": (
        "I would put a dollar figure on both choices, what the broken model costs per week and "
        "what going back costs. I would offer the step that is easy to undo, rolling back to the "
        "previous champion with one command. I would explain to the stakeholders what each option"
        " risks so they make an informed decision, and write the decision and its reason into the"
        " incident log."
    ),
    "behavioral-stakeholder-doubt": (
        "First I ask them for the specific customers they think were scored wrong, because people"
        " close to the business often notice problems before our metrics. Then I look those cases"
        " up against the data and our monitors: did a segment drift, did a feed break, what did "
        "the realized labels say. I explain what a score means, 0.3 means roughly three in ten "
        "such customers leave, not that this one will, and if they turn out to be right I say so "
        "and fix it."
    ),
    "behavioral-uncertainty": (
        "I talk in their units and give a range rather than one figure: this campaign should "
        "bring in somewhere between ten and fourteen thousand dollars, most likely around twelve,"
        " because a single number hides how far off it could be. I tell them what would move that"
        " estimate and when we will know more, for instance when next week's labels come in. And "
        "I still tell them what I recommend and which risk I am accepting, since a list of "
        "caveats does not help anyone decide."
    ),
    "design-batch-vs-online": (
        "It depends on when the answer is used. Our retention campaign is planned once a week, so"
        " scoring everybody in one scheduled job is cheaper and easier to run than keeping an "
        "endpoint up. A live endpoint earns its cost only when someone is waiting for the "
        "prediction, like an agent on a call deciding on an offer. Either way the same trained "
        "pipeline produces the scores, so the two paths cannot drift apart."
    ),
    "design-data-triggered": (
        "The thing that kicks off training is no longer a merge but the monitors: when they show "
        "that the incoming weeks justify it, a retrain starts. Since nobody reviewed that "
        "incoming data, each batch is checked against the contract and gets a version id before "
        "it is used for training. I would require evidence over two or three weeks in a row, wait"
        " for enough labels and add a pause after each retrain, so that a single odd week cannot "
        "start a retrain. A new model produced this way still has to beat the current champion on"
        " held-out weeks, and every one of these automatic choices is written to the event log "
        "with the numbers behind it, so we can explain any week afterwards."
    ),
    "design-many-models": (
        "This project only serves one churn model with a challenger, so this would be new work. I"
        " would have every request carry a model name, and a small router resolve that name's "
        "alias in the MLflow registry to a version. Models would be loaded lazily into a size-"
        "limited cache, evicting the ones nobody calls, because memory runs out long before CPU. "
        "And every model keeps its own drift checks, gate and canary, since one of them can break"
        " while the rest are healthy."
    ),
    "design-orchestration": (
        "For one pipeline I would keep a plain process with a clock, because it is easy to test "
        "and there is nothing extra to operate. The steps are written so that running one twice "
        "changes nothing, which makes retries and restarts after a crash safe. Once there are "
        "many pipelines that need schedules, retries and a UI, Dagster or Airflow starts paying "
        "for the extra system it is."
    ),
    "design-pipeline-stages": (
        "I split it into steps such as prepare, train, evaluate and gate, where each step lists "
        "what it reads and what it writes. The tool then hashes those inputs and reuses the saved"
        " output of any step whose inputs are the same, so changing one threshold in the "
        "parameters file only reruns the steps that depend on it. Tests call the very same step "
        "functions rather than a second copy."
    ),
    "design-skew": (
        "The preprocessing that was fitted during training is saved together with the model as "
        "one object, and the service loads exactly that object, so there is no second "
        "implementation that could disagree. The request schema is generated from the same data "
        "contract the training data is checked against. That still leaves gaps, like a replica "
        "stuck on an older version or a packaging bug, so in production I compare the live score "
        "distribution with the reference from training and log which version answered each "
        "request."
    ),
    "lifecycle-auto-retrain": (
        "I let a policy decide instead of a person: it only retrains when quality has been bad "
        "for several weeks in a row, enough new labels exist, and the last retrain is not too "
        "recent. Whatever it produces goes through the same promotion gate a human would apply, "
        "comparing it with the champion on later weeks with confidence intervals. If it passes, "
        "it still shadows and then takes a small canary with automatic rollback. Each of these "
        "steps writes its decision and evidence to a log, and there is a switch to pause the "
        "loop."
    ),
    "lifecycle-data-quality": (
        "Every incoming batch is checked against one declared schema of columns, types and "
        "allowed ranges, and every stage builds on that same declaration. Rows that fail are not "
        "patched quietly: they are moved aside with the reason so someone can look at them, and "
        "they never reach training. For known oddities, like blank total charges for brand-new "
        "customers, we write an explicit rule that treats them as zero."
    ),
    "lifecycle-experiments": (
        "Every training run writes its hyperparameters, scores and the model file to MLflow, so "
        "weeks later I can pull up exactly what each run did instead of relying on my notes. All "
        "candidates are trained and evaluated on one fixed split, otherwise a difference could "
        "just come from different rows. I pick the winner on the validation data and only then "
        "look at the test set, a single time, so that number stays an unbiased estimate."
    ),
    "lifecycle-promotion": (
        "The candidate first has to reach minimum quality levels we fixed in advance, and then it"
        " has to do better than the model in production by a set margin. I resample the same "
        "evaluation rows to get an interval on the difference, and I only switch when the whole "
        "interval is above the margin, since small differences are just retraining noise. The "
        "evaluation rows come from weeks after the training window, because production will "
        "always judge it on data it has not seen yet. I also check each customer group "
        "separately, because a better average can hide a group that got worse."
    ),
    "lifecycle-registry": (
        "Each model that comes out of training gets stored as a numbered, read-only entry in "
        "MLflow, together with the run that produced it, its metrics and the data it saw, so we "
        "can always trace what is running. The service does not ask for a number; it asks for "
        "whatever the champion name points to, which means promoting a model is just moving that "
        "name. When we move it we write down who did it and the evidence, so months later the "
        "story can be rebuilt. If the new one misbehaves, pointing the name back at the model "
        "that was serving before takes a minute and needs no training."
    ),
    "lifecycle-reproducibility": (
        "I pin everything a run depends on: the commit of the code and its config, the exact "
        "package versions from the lock file, and a hash of the training data tracked with DVC. A"
        " random seed helps, but on a different library version the numbers still move, so it is "
        "not enough alone. And I do not just trust that: I retrain from the recorded inputs and "
        "check that the predictions come out bit for bit the same."
    ),
    "monitoring-drift": (
        "Each week's inputs are compared per feature with the profile of the data the champion "
        "was trained on, using PSI for numeric features and Jensen-Shannon distance for "
        "categories. I set the thresholds on how big the shift is rather than on p-values, "
        "because with thousands of rows even a meaningless change is significant. And I ran the "
        "checks on healthy simulated weeks to count how often they alarm when nothing changed."
    ),
    "monitoring-drift-vs-harm": (
        "Not straight away. A shifted input distribution is a reason to look, and I first check "
        "whether the estimated AUC from calibrated scores or the realized AUC on the labels that "
        "have arrived actually went down, because drift on a feature the model barely uses does "
        "no damage. I also want the shift to persist over a few weeks rather than one, since a "
        "single noisy week should not trigger anything. And I look at what caused it: if an "
        "upstream feed broke, for example a unit change, retraining would teach the model the "
        "bug, so I quarantine those batches and get the feed fixed."
    ),
    "monitoring-healthy-infra": (
        "A green dashboard only tells me the servers answer; the model can be returning bad "
        "scores the whole time. So I start with the inputs: were batches quarantined, did nulls "
        "or out-of-range values appear, did any feature drift against the reference. Next I check"
        " whether a new model was released or promoted around the week the drop began, and "
        "whether every replica serves the champion. If both are clean, I confirm the drop on the "
        "labels, break it down by segment and week, and match its start with the event log."
    ),
    "monitoring-label-delay": (
        "While the labels are missing I watch what moves earlier: the input features against the "
        "reference, the distribution of predicted scores, and data-quality checks. I also "
        "estimate performance from the calibrated scores, since a calibrated 0.3 means about 30 "
        "percent of those customers churn. Once a week's labels arrive I compute its real AUC and"
        " compare it with the estimate."
    ),
    "monitoring-retrain-or-rollback": (
        "If the trouble started right when a new version went live and the old one had been fine,"
        " I revert to the old one; it is one alias move. If nothing was released and the "
        "customers themselves behave differently, which shows up on labels, I retrain on recent "
        "weeks once there are enough labels. And if a feed is broken, neither: I quarantine those"
        " batches and get the source fixed, because training on it would bake the error in."
    ),
    "monitoring-value": (
        "I look at money, not just AUC: what the retention campaign earned this week compared "
        "with what the previous model would have earned on the same customers. Since churn labels"
        " take weeks to arrive, in the meantime I rely on an estimate computed from the "
        "calibrated scores, and once the real outcomes come in I replace the estimate and check "
        "how close it was."
    ),
    "project-end-to-end": (
        "I built a churn system for a telecom: a weekly retention campaign calls customers who "
        "are likely to cancel, and success is measured in dollars saved. A DVC pipeline trains "
        "and evaluates every candidate, and only one that beats the current model with a "
        "confidence interval gets registered. A FastAPI service serves the champion and releases "
        "new models through shadow and canary. Each week the monitor compares inputs and "
        "predictions with the reference and a trigger decides whether to retrain. We also broke "
        "it on purpose in drills and wrote postmortems about what broke."
    ),
    "project-failure-modes": (
        "On the data side, a renamed column, a flood of nulls or values in the wrong units break "
        "the contract and the batch is quarantined, which matters because broken inputs are the "
        "most frequent failure. On the model side, a training bug or a change in how customers "
        "churn is caught by the promotion gate and by realized quality on labels, since a retrain"
        " can make things worse. On the system side, a replica serving an old version or a slow "
        "new package is flagged by the version skew check and the canary's guardrails. What it "
        "does not catch well is slow drift in a small segment: the slice check needs enough "
        "labels, so that can go unnoticed for weeks."
    ),
    "project-hardest-decision": (
        "The hardest call was how to decide promotions: comparing raw AUC was one way, a paired "
        "bootstrap with a fixed margin was the other. I measured both on simulated retrains with "
        "the gate benchmark, which gave the false-superiority rate and the power of each. I wrote"
        " the reasoning down as an ADR so the next person knows why."
    ),
    "project-rebuild": (
        "I would put every shared formula in one place from day one, because we ended up with two"
        " slightly different interval functions and spent days finding why numbers disagreed. I "
        "would also separate fast and slow tests earlier, since CI grew to a quarter of an hour "
        "before we did. I would keep the rule that every automated decision records its evidence,"
        " because that is what made every incident explainable."
    ),
    "project-testing": (
        "Beyond unit tests we test the data itself, with an expectation per check on every batch,"
        " and the model's behaviour: changing an irrelevant field must not move the score, "
        "raising tenure should lower churn risk, and quality must stay above a floor. Integration"
        " tests run against a real MLflow store and a real server instead of mocks. And we "
        "compare our drift results with Evidently's, so the code is never its own oracle."
    ),
    "project-tradeoffs": (
        "The biggest one was running the continuous-training loop in a single process instead of "
        "on an orchestrator: we gave up scheduling, retries and a UI, and got something we can "
        "test end to end and resume after a kill. That fit a course project with one pipeline on "
        "one machine; once we had several pipelines needing schedules, I would move it to "
        "Dagster. Similarly, MLflow writes to a local sqlite file, so setup is zero, at the cost "
        "of concurrent writers, which is fine until several services write at the same time."
    ),
    "serving-expensive-low-traffic": (
        "Most of the cost is machines sitting idle, so I would let it scale down to zero replicas"
        " between bursts and accept that the first call after a quiet period is slow. If callers "
        "do not need the answer immediately, I would queue requests and process them together in "
        "batches. Whether that works depends on numbers: the cost per prediction and how long "
        "users will tolerate waiting on a cold start."
    ),
    "serving-gpu": (
        "To be honest, the model in this repository is a small scikit-learn pipeline served on "
        "CPUs, so GPU serving is something I would have to add. The pods would ask Kubernetes for"
        " the nvidia.com/gpu resource and be scheduled on a dedicated GPU node pool, with a "
        "container image whose CUDA version matches the driver on those nodes. Because GPUs are "
        "expensive and mostly idle under single requests, I would put a model server with dynamic"
        " batching in front of it, within the latency budget. Before committing I would benchmark"
        " cost per prediction and p99 latency on both CPU and GPU, since for a small model the "
        "GPU often does not pay off."
    ),
    "serving-hot-swap": (
        "The new model is fetched and loaded on a background thread while the current one keeps "
        "answering. Before it is used, its file hash is compared with the one recorded in the "
        "registry, so a corrupted download never serves. Then a single reference is switched, so "
        "any request gets either the previous model or the new one and never a mixture."
    ),
    "serving-rollout": (
        "I never flip all traffic at once. The new version first runs in shadow mode next to the "
        "old one, so that we see its answers on live requests while customers only get the old "
        "model. After that a canary gets a few percent of users, and automatic guardrails on "
        "error rate and latency roll it back if it misbehaves, since nobody should have to watch "
        "it by hand. The guardrails look at the data on a fixed schedule with an error budget "
        "spread over the looks, because peeking every few minutes with an ordinary test raises "
        "the false alarm rate."
    ),
    "serving-scaling": (
        "Before adding anything I would run a load test and look at the p99, since the slowest "
        "part is what needs capacity. Because each replica keeps no state, more copies behind the"
        " autoscaler add throughput. Inference is CPU-heavy, so it runs in a worker thread rather"
        " than on the async loop, or a slow prediction would hold up every other request."
    ),
    "serving-tradeoffs": (
        "I translate the accuracy gain into money for the business, what extra retained customers"
        " are worth, so it can be compared with what the extra serving costs. Latency is a hard "
        "limit, a p99 we must stay under, and so is the budget; inside those limits I pick the "
        "most valuable model. I measure each option with a load test and on held-out weeks before"
        " deciding."
    ),
}


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_bank()


def every_question(bank: QuestionBank) -> list[Question]:
    """Each question, and each scored follow-up asked as a question of its own."""
    asked = []
    for q in bank.questions:
        asked.append(q)
        asked += [q.follow_up(i) for i, f in enumerate(q.follow_ups) if f.scored]
    return asked


def keyword_dumps(question: Question) -> list[str]:
    """Every term and support word of every concept, as lists and padded with cue words."""
    words = [w for c in question.concepts for w in (*c.terms, *c.support)]
    words = [w.rstrip("*") for w in words]
    return [
        ", ".join(words),
        "\n".join(words),
        "I would use " + ", ".join(words) + " and so on.",
        ". ".join(words) + ".",
        " because ".join(words) + ".",  # a cue between keywords does not make a claim
        "If " + " then ".join(words) + ", so that is it.",
    ]


def test_the_bank_has_six_domains_and_every_question_a_scored_follow_up(
    bank: QuestionBank,
) -> None:
    assert len(bank.domains) == 6
    assert len(bank.questions) >= 30
    for domain in bank.domains:
        assert len(bank.of_domain(domain)) >= 5, domain
    for q in bank.questions:
        assert q.follow_ups[0].scored, q.id  # asked in the mock loop, scored like q
        assert any(c.misconceptions for c in q.concepts), q.id
        assert all(c.claim for c in q.concepts), q.id


def test_the_seed_guide_maps_30_of_30_questions_to_the_bank_and_the_lesson_shows_it(
    bank: QuestionBank,
) -> None:
    guide = bank.seed_guide
    assert len(guide) == 30
    assert len({g.question for g in guide}) == 30
    for domain in bank.domains:
        assert sum(g.domain == domain for g in guide) == 5, domain
    ids = {q.id for q in bank.questions}
    assert {g.id for g in guide} <= ids
    for g in guide:
        assert bank.question(g.id).domain == g.domain, g
    # the lesson's table: one row per guide question, with its bank id
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \| ([^|]+) \| `([\w-]+)` \|", LESSON.read_text(), re.M)
    assert [(r[2].strip(), r[3]) for r in rows] == [(g.question, g.id) for g in guide]
    assert "30 of 30" in LESSON.read_text()


def exists_or_rendered(path: str) -> bool:
    """In the repository, or an ADR `make docs` renders from a committed template."""
    template = PROJECT_ROOT / "docs" / "templates" / f"{path.removeprefix('docs/')}.j2"
    rendered = path.startswith("docs/decisions/") and template.is_file()
    return rendered or (PROJECT_ROOT / path).exists()


def test_every_path_and_make_target_a_reference_answer_names_exists(bank: QuestionBank) -> None:
    targets = set(MAKE_TARGET.findall((PROJECT_ROOT / "Makefile").read_text()))
    checked = 0
    for q in every_question(bank):
        answer = q.reference_answer + (q.personal_answer or "")
        for quoted in re.findall(r"`([^`]+)`", answer):
            if quoted.startswith("make "):
                assert quoted.split()[1] in targets, (q.id, quoted)
            elif re.fullmatch(r"[\w.-]+(/[\w.<>-]+)+", quoted):
                assert exists_or_rendered(quoted), (q.id, quoted)
            else:
                continue
            checked += 1
    assert checked >= len(bank.questions)  # every answer points into the repository


def test_reference_answers_score_90_and_keyword_dumps_30(bank: QuestionBank) -> None:
    reference, dumps = [], []
    for q in every_question(bank):
        good = score_answer(q, q.reference_answer, bank.scoring)
        worst_dump = max(score_answer(q, d, bank.scoring).score for d in keyword_dumps(q))
        reference.append(good.score)
        dumps.append(worst_dump)
        assert good.score >= REFERENCE_AT_LEAST, (q.id, good.score, good.missed)
        assert worst_dump <= WRONG_AT_MOST, (q.id, worst_dump)
        assert score_answer(q, "", bank.scoring).score == 0
        assert score_answer(q, OFF_TOPIC, bank.scoring).score <= 5, q.id
    print(f"\nreference answers: median {statistics.median(reference)}, min {min(reference)}")
    print(f"keyword dumps: median {statistics.median(dumps)}, max {max(dumps)}")


@pytest.mark.parametrize("question_id", sorted(FLUENT_WRONG))
def test_a_fluent_but_wrong_answer_scores_at_most_30(bank: QuestionBank, question_id: str) -> None:
    q = bank.question(question_id)
    result = score_answer(q, FLUENT_WRONG[question_id], bank.scoring)
    print(f"\n{question_id} fluent but wrong: {result.score}")
    assert result.score <= WRONG_AT_MOST, [(c.name, c.status) for c in result.concepts]
    assert result.contradicted  # the learner is told what was wrong, and why
    for concept in result.concepts:
        if concept.status == "contradicted":
            assert concept.sentence
            assert concept.wrong


@pytest.mark.parametrize("question_id", sorted(OTHER_WORDS))
def test_a_right_answer_in_other_words_scores_at_least_70(
    bank: QuestionBank, question_id: str
) -> None:
    q = bank.question(question_id)
    result = score_answer(q, OTHER_WORDS[question_id], bank.scoring)
    print(f"\n{question_id} in other words: {result.score}")
    assert result.score >= OTHER_WORDS_AT_LEAST, [(c.name, c.status) for c in result.concepts]
    assert not result.contradicted


def test_the_hand_written_answers_cover_every_domain(bank: QuestionBank) -> None:
    for answers in (FLUENT_WRONG, OTHER_WORDS):
        assert {bank.question(q).domain for q in answers} == set(bank.domains)


def test_negation_is_scoped_to_its_clause(bank: QuestionBank) -> None:
    q = bank.question("lifecycle-registry")

    def status(answer: str) -> dict[str, str]:
        return {c.name: c.status for c in score_answer(q, answer, bank.scoring).concepts}

    # "instead of" denies what follows it, not what precedes it
    assert status("We roll back to the previous version in one step instead of retraining.")[
        "rollback"
    ] == ("claimed")
    assert status("We retrain the model instead of a rollback to the previous version.")[
        "rollback"
    ] == ("contradicted")
    assert status("We do not use a model registry for our versions at all.")["model registry"] == (
        "contradicted"
    )
    assert status("Aliases like champion are pointless for a team like ours.")["aliases"] == (
        "contradicted"
    )
    assert status("Aliases like champion are not pointless: promotion moves the alias.")[
        "aliases"
    ] == ("claimed")
    # two denials cancel out
    promotion = bank.question("lifecycle-promotion")
    both = score_answer(
        promotion,
        "Nothing is promoted without passing the gate against the current champion first.",
        bank.scoring,
    )
    assert "gate" in both.covered
    # a denial far from what it names does not reach it
    far = score_answer(
        promotion,
        "Each segment has a tolerance so that a better average cannot hide a loss for one segment.",
        bank.scoring,
    )
    assert "slices" in far.covered


def test_a_denied_misconception_is_a_claim_and_an_asserted_one_a_contradiction(
    bank: QuestionBank,
) -> None:
    q = bank.question("monitoring-drift-vs-harm")
    denied = score_answer(q, "Retraining will not always fix drift, it depends.", bank.scoring)
    asserted = score_answer(q, "Retraining will always fix drift, whatever it is.", bank.scoring)
    assert "retraining risks" in denied.covered
    assert "retraining risks" in asserted.contradicted
    # a supposition is not a claim: "if you ..., then ..." argues against it
    supposed = score_answer(
        bank.question("lifecycle-experiments"),
        "If you pick the model on the test set, then the final estimate is optimistic.",
        bank.scoring,
    )
    assert "validation split" not in supposed.contradicted


def test_a_contradiction_costs_more_than_silence(bank: QuestionBank) -> None:
    q = bank.question("serving-rollout")
    right = "The new model first runs in shadow on live traffic, so no customer sees its answers."
    wrong = "A canary is overkill for us, so we switch all traffic to the new model at once."
    alone = score_answer(q, right, bank.scoring).score
    plus_wrong = score_answer(q, f"{right} {wrong}", bank.scoring).score
    assert plus_wrong < alone  # saying a wrong thing is worse than saying nothing more
    assert score_answer(q, wrong, bank.scoring).score < 0  # below an empty answer's 0


def test_a_claim_needs_what_it_says_not_only_the_word(bank: QuestionBank) -> None:
    q = bank.question("serving-rollout")
    bare = score_answer(q, "We had a canary.", bank.scoring)
    claimed = score_answer(
        q,
        "We sent a small canary share of users first, which limits the blast radius.",
        bank.scoring,
    )
    padded = score_answer(q, "Canary because canary so canary therefore canary.", bank.scoring)
    assert bare.mentioned == ["canary"]
    assert claimed.covered == ["canary"]
    assert padded.covered == []  # cue words do not make a claim
    assert claimed.score > bare.score > 0


def test_personal_questions_use_the_last_drill_and_its_postmortem(
    bank: QuestionBank, tmp_path: Path
) -> None:
    paths = SimulatorPaths.of(tmp_path)
    assert drill_facts(paths) is None
    generic = bank.question("project-drill-story")
    assert personalize(generic, None) == generic
    record = saved_drill(paths)
    form = prefill_postmortem(record).model_copy(update={"root_causes": "prices rose 25%"})
    write_postmortem(form, paths)
    facts = drill_facts(paths)
    assert facts is not None
    asked = personalize(generic, facts)
    assert record.title in asked.question
    assert f"week {DECLARED_WEEK}" in asked.reference_answer
    assert "prices rose 25%" in asked.reference_answer
    assert "35/45" in asked.reference_answer  # the drill's score: 15 + 20 of 25 + 20
    assert "{" not in asked.reference_answer + asked.question
    personal = [q for q in bank.questions if q.personal]
    assert {q.domain for q in personal} >= {"project", "behavioral"}
    for q in personal:
        mine = personalize(q, facts)
        assert score_answer(mine, mine.reference_answer, bank.scoring).score >= 75


def test_the_mock_loop_asks_each_question_then_its_follow_up(bank: QuestionBank) -> None:
    loop = plan_mock_loop(bank, seed=3)
    assert loop == plan_mock_loop(bank, seed=3)
    assert [i.question_id for i in loop.items] != [
        i.question_id for i in plan_mock_loop(bank, seed=4).items
    ]
    assert len(loop.items) == 2 * bank.loop.questions
    mains, follow_ups = loop.items[::2], loop.items[1::2]
    assert {i.domain for i in mains} == set(bank.domains)
    assert [f.question_id for f in follow_ups] == [f"{m.question_id}/follow-up-1" for m in mains]
    for item in follow_ups:
        asked = bank.question(item.question_id)  # scored like the main question
        assert asked.concepts
        assert score_answer(asked, asked.reference_answer, bank.scoring).score >= 90
    assert all(i.seconds == bank.loop.seconds_per_question for i in loop.items)
    long = plan_mock_loop(bank, seed=3, count=14, seconds=60)
    assert len({i.question_id for i in long.items}) == 28  # no question twice
    with pytest.raises(ValueError, match="count"):
        plan_mock_loop(bank, seed=3, count=len(bank.questions) + 1)
    with pytest.raises(KeyError, match="question_id"):
        bank.question("serving-rollout/follow-up-9")


def test_attempts_and_self_assessments_are_kept_side_by_side(
    bank: QuestionBank, tmp_path: Path
) -> None:
    paths = SimulatorPaths.of(tmp_path)
    assert read_attempts(paths) == []
    q = bank.question("monitoring-value")
    result = score_answer(q, q.reference_answer, bank.scoring)
    first = attempt_of(q, q.reference_answer, result, 300.0, 240, loop_seed=3)
    record_attempt(paths, first)
    record_attempt(paths, attempt_of(q, "no idea", score_answer(q, "no idea", bank.scoring), 20))
    ticked = (q.concepts[0].claim, q.concepts[1].claim)
    assessed = record_self_assessment(paths, first.attempt_id, ticked, len(q.concepts))
    assert assessed.self_score == 50.0  # 2 of 4 ticked
    with paths.interview_attempts.open("a") as handle:
        handle.write('{"question_id": "cut sho')  # a line a kill cut short
    attempts = read_attempts(paths)
    assert [a.score for a in attempts] == [result.score, 0.0]
    assert (attempts[0].self_score, attempts[0].self_checked) == (50.0, ticked)
    assert attempts[1].self_score is None
    assert attempts[0].over_time
    assert not attempts[1].over_time
    assert attempts[0].covered
    assert attempts[1].missed
    assert isinstance(attempts[0], InterviewAttempt)
    with pytest.raises(KeyError, match="attempt_id"):
        record_self_assessment(paths, "nope", (), 3)


def test_a_bank_with_a_question_in_an_unknown_domain_is_refused(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "simulator" / "questions.yml").read_text()
    broken = tmp_path / "questions.yml"
    broken.write_text(text.replace("domain: serving", "domain: servng", 1))
    with pytest.raises(ValueError, match="unknown domain 'servng'"):
        load_bank(broken)
    unmapped = tmp_path / "unmapped.yml"
    unmapped.write_text(text.replace("id: serving-gpu, question:", "id: serving-gpx, question:"))
    with pytest.raises(ValueError, match=r"seed_guide\.10\.id: no question 'serving-gpx'"):
        load_bank(unmapped)

# MLOps Path. `make` lists the targets. Every target bootstraps what it needs, except the
# self-checks (`check-phaseN`): they check and never repair, and say what to run when a part is
# missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SHELLFLAGS := -eu -o pipefail -c

VENV := .venv
PY := $(VENV)/bin/python
# uv: the environment's own locked copy once `make setup` has run, else the one on PATH, else a
# project-local copy installed with pip on first use.
UV_LOCAL := .tools/bin/uv
UV ?= $(firstword $(wildcard $(VENV)/bin/uv) $(shell command -v uv 2>/dev/null) $(UV_LOCAL))
# Runtime state and data, from the same environment variables the settings read.
STATE_DIR := $(abspath $(or $(MLOPS_STATE_DIR),var))
DATA_DIR := $(abspath $(or $(MLOPS_DATA_DIR),data))
# `make check` runs the tests without these markers; `make test` (and CI) runs them all.
FAST_TESTS := not slow and not docker and not browser and not postgres and not load and not prometheus
IMAGE ?= mlops-path:latest
SERVING_IMAGE ?= mlops-path-serving:latest
PORT ?= 8000
WORKERS ?= 1
MLFLOW_PORT ?= 5000
PYTEST_ARGS ?=
export UV_PROJECT_ENVIRONMENT := $(VENV)
# DVC stage commands say `python`: make it the project's interpreter.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Trust the system CA store too, so TLS-intercepting proxies (whose CA is installed) work.
export UV_SYSTEM_CERTS ?= true
# Every process make starts caches the modules it compiles (__pycache__, as Python does by
# default), even where the machine sets PYTHONDONTWRITEBYTECODE: otherwise each CLI, DVC stage,
# server and test process would compile its imports again (`python -m phase5_capstone` takes 5 s
# to start without them, 2 s with). Only what runs is compiled, once: compiling the whole
# environment ahead (34,000 modules) took a minute of CPU.
export PYTHONDONTWRITEBYTECODE :=
# The project reaches only the package registries. MLflow 3 sends usage telemetry (and fetches
# its settings from its own site) unless told not to, and counts only CI machines as a reason
# not to: a learner's `make capstone` would phone home. Off for every process make starts.
export MLFLOW_DISABLE_TELEMETRY ?= true

# Variables the help text names, shown with their values (`make help PORT=9000` shows 9000).
HELP_VARIABLES := PORT MLFLOW_PORT DAGSTER_PORT SIMULATOR_PORT SITE_PORT BASE
.PHONY: help
help: ## List every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST) \
		| sed $(foreach name,$(HELP_VARIABLES),-e 's|$$($(name))|$($(name))|g')

$(UV_LOCAL):
	python3 -m pip install --quiet --disable-pip-version-check --target .tools uv

.PHONY: setup
setup: $(if $(filter $(UV_LOCAL),$(UV)),$(UV_LOCAL)) ## Install uv if missing, then the locked environment (idempotent)
	@$(UV) sync --frozen --all-extras --quiet

.PHONY: data
data: setup ## Fetch and verify the real Telco data (once; offline afterwards), tracked by DVC
	$(PY) -m phase1_foundations fetch
	@$(VENV)/bin/dvc add --quiet data/raw/telco

# Guards for the self-checks: each says in one line what is missing and what to run first.
.PHONY: need-env
need-env:
	@test -x $(PY) || { echo "No project environment in $(VENV): run \`make setup\` first."; exit 2; }

.PHONY: need-data
need-data: need-env
	@test -f "$(DATA_DIR)/raw/telco/train.csv" -a -f "$(DATA_DIR)/raw/telco/test.csv" || \
		{ echo "No Telco data in $(DATA_DIR)/raw/telco: run \`make data\` first."; exit 2; }

.PHONY: need-docker
need-docker:
	@docker info >/dev/null 2>&1 || { echo "No Docker daemon answers \`docker info\`: start Docker \
	(e.g. \`sudo systemctl start docker\`), then run \`make $(MAKECMDGOALS)\` again."; exit 2; }

# The suite runs on every core (pytest-xdist; TEST_WORKERS=0 runs it in one process). loadfile:
# a module's tests stay on one worker, which builds its module-scoped fixtures once; slow modules
# are handed out first (conftest.py). Not loadgroup: xdist 3.8 cannot regroup under pytest 9.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
# A test run already keeps every core busy with its workers, so the numerical libraries in each
# (OpenMP in scikit-learn's gradient boosting, OpenBLAS in numpy) run on one thread: their own
# pools would spin on the cores the other workers need (phase 3's HGB challenger pipeline took
# 26 s of CPU with them, 9 s without). The processes the tests start inherit it.
TEST_THREADS := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: test
test: data ## The whole test suite, as CI runs it (slow, Docker, browser, load, PostgreSQL included)
	$(TEST_THREADS) $(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

.PHONY: expectations
expectations: data ## Rerun the tests behind tests/expectations.yml; write what each measured (bounds stay)
	$(TEST_THREADS) $(PY) -m testing.expectations

.PHONY: test-fast
test-fast: data ## The fast tests: none marked slow, docker, browser, postgres, load, prometheus
	$(TEST_THREADS) $(PY) -m pytest -q $(XDIST) -m "$(FAST_TESTS)" $(PYTEST_ARGS)

.PHONY: lint
lint: setup ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: format
format: setup ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: typecheck
typecheck: setup ## mypy --strict on the packages
	$(VENV)/bin/mypy

.PHONY: actionlint
actionlint: setup ## Check every GitHub workflow file with actionlint (shipped as a PyPI wheel)
	$(VENV)/bin/actionlint -no-color .github/workflows/*.yml

.PHONY: check
check: lint typecheck actionlint test-fast ## The quick loop before each commit: lint, types, workflows, fast tests

.PHONY: phase1
phase1: data ## Phase 1: fingerprint the environment and retrain the baseline twice
	$(PY) -m phase1_foundations repro

.PHONY: check-phase1
check-phase1: need-data ## Phase 1 exercise self-check: lock, environment, data, determinism
	$(PY) -m phase1_foundations.lesson selfcheck

.PHONY: base-image
base-image: need-docker ## Build a local Debian base image with debootstrap (when Docker Hub is out of reach)
	bash phase1_foundations/docker/base-image.sh

.PHONY: image
image: need-docker setup ## Build the project image (wheels prepared here; no network inside the build)
	IMAGE=$(IMAGE) UV=$(UV) bash phase1_foundations/docker/build-image.sh

.PHONY: phase1-container
phase1-container: need-docker data image ## Phase 1: the container's prediction hash equals the host's
	$(PY) -m phase1_foundations repro-container --image $(IMAGE)

.PHONY: phase2
phase2: data ## Phase 2: the gated DVC pipeline on the real data; prints the gate decision
	@# dvc.lock stays untracked (see .gitignore): drop DVC's hint to git-add it after each run.
	$(VENV)/bin/dvc repro 2>&1 | sed -e '/To track the changes with git, run:/,/dvc config core.autostage true/d'
	$(PY) -m phase2_pipelines status

.PHONY: check-phase2
check-phase2: need-data ## Phase 2 exercise self-check: does your gate protect customers billed on paper? (reads, never repairs)
	$(PY) -m phase2_pipelines.lesson selfcheck

# CI for models (.github/workflows/model.yml runs it on pull requests). Exit 1 on a regression;
# "not better" is advice, exit 0. A throwaway state directory: your registry is not touched.
BASE ?= origin/main
MODEL_REPORT ?= build/model-report.md
.PHONY: model-report
model-report: data ## Train this tree's model and BASE's (BASE=origin/main) on the same data, gate them, write build/model-report.md
	$(PY) -m phase2_pipelines model-report --base "$(BASE)" --out "$(MODEL_REPORT)"

.PHONY: history
history: setup ## Print the registry's promotion history with reasons
	$(PY) -m phase2_pipelines history

.PHONY: rollback
rollback: setup ## Restore the previous champion: make rollback REASON="why"
	@test -n "$(REASON)" || { echo 'usage: make rollback REASON="why"'; exit 2; }
	$(PY) -m phase2_pipelines rollback --reason "$(REASON)"

.PHONY: reproduce
reproduce: data ## Rebuild a run's model and compare predictions: make reproduce RUN_ID=<id>
	@test -n "$(RUN_ID)" || { echo "usage: make reproduce RUN_ID=<mlflow run id>"; exit 2; }
	$(PY) -m phase2_pipelines reproduce $(RUN_ID)

.PHONY: experiments
experiments: data ## Compare the model families and hyperparameters in params.yaml
	$(PY) -m phase2_pipelines experiments

# One worker and no job runner: a local browser needs neither, and MLflow's job runner leaves its
# consumers running when it is stopped. `exec`: Ctrl-C and make's SIGTERM reach mlflow itself.
.PHONY: mlflow-ui
mlflow-ui: setup ## Browse runs and the registry at http://127.0.0.1:5000 (MLFLOW_PORT=...)
	exec env MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(VENV)/bin/mlflow ui \
		--host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1 \
		--artifacts-destination "$(STATE_DIR)/mlartifacts" \
		--backend-store-uri "$$($(PY) -c 'from phase1_foundations.settings import get_settings as g; print(g().tracking_uri)')"

.PHONY: serve
serve: data ## Phase 3: serve the champion on http://127.0.0.1:$(PORT) (after `make phase2`)
	@rm -rf "$(STATE_DIR)/prometheus" && mkdir -p "$(STATE_DIR)/prometheus"  # metrics shared by the workers
	PROMETHEUS_MULTIPROC_DIR="$(STATE_DIR)/prometheus" \
		$(VENV)/bin/uvicorn phase3_serving.app:app --host 127.0.0.1 --port $(PORT) \
		--workers $(WORKERS) --no-access-log

.PHONY: phase3
phase3: phase2 ## Phase 3: train and register a champion (phase 2), then serve it on 127.0.0.1:$(PORT)
	@$(MAKE) --no-print-directory serve

.PHONY: serving-image
serving-image: need-docker setup ## Build the serving image (core + serving deps only; no network inside the build)
	IMAGE=$(SERVING_IMAGE) UV=$(UV) bash phase3_serving/deploy/build-serving-image.sh

.PHONY: bench-serving
bench-serving: data ## Benchmark: our service vs `mlflow models serve`, driven by wrk on 127.0.0.1
	$(PY) -m bench.bench_serving

.PHONY: bench-gate
bench-gate: data ## Benchmark: the promotion gate's false-superiority rate, power and decision time
	$(PY) -m bench.bench_gate

.PHONY: bench-batch
bench-batch: data ## Benchmark: batch scoring of a 1,000,000-row file (rows per second)
	$(PY) -m bench.bench_batch

.PHONY: check-phase3
check-phase3: need-data ## Phase 3 exercise self-check: would your guardrails roll back a bad model and spare good ones? (reads, never repairs)
	$(PY) -m phase3_serving.lesson selfcheck

.PHONY: bench-machine
bench-machine: setup ## Benchmark: this machine's speed now (a Python loop, a numpy sort, host steal), to read beside any time
	$(PY) -m bench.bench_machine

.PHONY: bench-world
bench-world: data ## Benchmark: one 1,000,000-row world week (seconds, peak memory)
	$(PY) -m bench.bench_world

.PHONY: bench-monitoring
bench-monitoring: data ## Benchmark: fast drift checks vs Evidently (100k, 1M rows); CBPE vs realized AUC (and NannyML)
	$(PY) -m bench.bench_monitoring

.PHONY: phase4
phase4: data ## Phase 4: serve a champion, send clean then drifted weeks; drift, CBPE, alerts on Prometheus, trigger
	$(PY) -m phase4_monitoring.lesson walkthrough
.PHONY: check-phase4
check-phase4: need-data ## Phase 4 exercise self-check: does your trigger policy retrain only when it should? (reads, never repairs)
	$(PY) -m phase4_monitoring.lesson selfcheck
NANNYML_ENV := .tools/nannyml-env
.PHONY: nannyml-env
nannyml-env: $(if $(filter $(UV_LOCAL),$(UV)),$(UV_LOCAL)) ## A throwaway env with NannyML (~1.8 GB, not in the lock) for bench-monitoring's comparison
	$(UV) venv --quiet --allow-existing -p 3.11 $(NANNYML_ENV)
	$(UV) pip install --quiet --python $(NANNYML_ENV)/bin/python nannyml==0.13.1 statsmodels

CAPSTONE_ARGS := $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(FRESH),--fresh)
.PHONY: capstone
capstone: data ## Phase 5: the whole continuous-training system, 26 simulated weeks (resumes; FRESH=1 starts over, SCENARIO=name)
	$(PY) -m phase5_capstone run $(CAPSTONE_ARGS)

.PHONY: check-phase5
check-phase5: need-data ## Phase 5 self-check: does the run's log show every beat of its scenario? (reads, never repairs)
	$(PY) -m phase5_capstone.lesson selfcheck $(if $(SCENARIO),--scenario $(SCENARIO))

.PHONY: bench-policy
bench-policy: data ## Benchmark: the continuous-training policy in dollars against the oracle, today's policy beside the new one (~15 min)
	$(PY) -m bench.bench_policy

.PHONY: bench-capstone
bench-capstone: data ## Benchmark: seconds per simulated week (default scenario and 52 weeks), and where the time goes
	$(PY) -m bench.bench_capstone

DAGSTER_PORT ?= 3000
# The same steps as `make capstone`, as a Dagster job with its schedule and sensor (both off until
# switched on in the UI). DAGSTER_HOME (runs, schedules, logs) is under the state dir. `exec`:
# Ctrl-C and make's SIGTERM reach `dagster dev`, which stops its webserver, daemon and code server.
.PHONY: capstone-ui
capstone-ui: data ## Phase 5 on Dagster: the weekly job, schedule and sensor at http://127.0.0.1:$(DAGSTER_PORT) (DAGSTER_PORT=...)
	@mkdir -p "$(STATE_DIR)/dagster" && cp phase5_capstone/deploy/dagster.yaml "$(STATE_DIR)/dagster/"
	exec env DAGSTER_HOME="$(STATE_DIR)/dagster" \
		$(VENV)/bin/dagster dev -m phase5_capstone.orchestrator --host 127.0.0.1 --port $(DAGSTER_PORT)

# `exec`: Ctrl-C and make's SIGTERM reach streamlit itself. Loopback only, no usage statistics.
SIMULATOR_PORT ?= 8501
.PHONY: simulator
simulator: data ## Incident drills, postmortems, interview practice: Streamlit on http://127.0.0.1:$(SIMULATOR_PORT)
	exec $(VENV)/bin/streamlit run simulator/app.py --server.address 127.0.0.1 \
		--server.port $(SIMULATOR_PORT) --server.headless true --browser.gatherUsageStats false \
		--server.fileWatcherType none --client.toolbarMode minimal

.PHONY: check-simulator
check-simulator: need-env ## Simulator self-check: does your latest postmortem pass the SRE review? (reads, never repairs)
	$(PY) -m simulator.lesson selfcheck

.PHONY: bench-drills
bench-drills: data ## Benchmark: scripted on-call policies (silent, panic, lookup, late, expert) over every drill and 3 seeds
	$(PY) -m bench.bench_drills

DOCS_OUT ?= docs
.PHONY: docs
docs: setup ## Render docs/ from the live system: architecture, experiments, ADRs (after `make phase2` or `make capstone`)
	$(PY) -m docs render --out "$(DOCS_OUT)"

SITE_PORT ?= 8001
SITE_SRC ?= build/site-src
SITE_DIR ?= build/site
.PHONY: site
site: setup ## Build the course site (lessons + generated docs) with mkdocs --strict into build/site
	$(PY) -m docs site --out "$(SITE_SRC)" --site-dir "$(SITE_DIR)"
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet -f "$(SITE_SRC)/mkdocs.yml"
	@echo "site built: $(SITE_DIR)/index.html"

# `exec`: Ctrl-C and make's SIGTERM reach mkdocs itself.
.PHONY: site-serve
site-serve: setup ## Serve the course site on http://127.0.0.1:$(SITE_PORT) (SITE_PORT=...)
	$(PY) -m docs site --out "$(SITE_SRC)" --site-dir "$(SITE_DIR)"
	exec env NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:$(SITE_PORT) \
		-f "$(SITE_SRC)/mkdocs.yml"

.PHONY: clean
clean: ## Remove runtime state (MLOPS_STATE_DIR, default var/), build outputs and caches
	rm -rf "$(STATE_DIR)" build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

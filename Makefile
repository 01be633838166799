# MLOps Path. `make` lists the targets; every target bootstraps what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SHELLFLAGS := -eu -o pipefail -c

# uv: the one on PATH, else a project-local copy installed with pip on first use.
UV_LOCAL := .tools/bin/uv
UV ?= $(shell command -v uv 2>/dev/null || echo $(UV_LOCAL))
VENV := .venv
PY := $(VENV)/bin/python
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

.PHONY: help
help: ## List every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV_LOCAL):
	python3 -m pip install --quiet --disable-pip-version-check --target .tools uv

.PHONY: setup
setup: $(if $(filter $(UV_LOCAL),$(UV)),$(UV_LOCAL)) ## Install uv if missing, then the locked environment (idempotent)
	@$(UV) sync --frozen --all-extras --quiet

.PHONY: data
data: setup ## Fetch and verify the real Telco data (once; offline afterwards), tracked by DVC
	$(PY) -m phase1_foundations fetch
	@$(VENV)/bin/dvc add --quiet data/raw/telco

.PHONY: test
test: data ## Run the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

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

.PHONY: check
check: lint typecheck test ## Lint, types and tests: run before every commit

.PHONY: phase1
phase1: data ## Phase 1: fingerprint the environment and retrain the baseline twice
	$(PY) -m phase1_foundations repro

.PHONY: check-phase1
check-phase1: data ## Phase 1 exercise self-check
	$(PY) -m pytest -q phase1_foundations/tests/test_exercise.py

.PHONY: base-image
base-image: ## Build a local Debian base image with debootstrap (when Docker Hub is out of reach)
	bash phase1_foundations/docker/base-image.sh

.PHONY: image
image: data ## Build the project image (wheels prepared here; no network inside the build)
	IMAGE=$(IMAGE) UV=$(UV) bash phase1_foundations/docker/build-image.sh

.PHONY: phase1-container
phase1-container: image ## Phase 1: the container's prediction hash equals the host's
	$(PY) -m phase1_foundations repro-container --image $(IMAGE)

.PHONY: phase2
phase2: data ## Phase 2: the gated DVC pipeline on the real data; prints the gate decision
	@# dvc.lock stays untracked (see .gitignore): drop DVC's hint to git-add it after each run.
	$(VENV)/bin/dvc repro 2>&1 | sed -e '/To track the changes with git, run:/,/dvc config core.autostage true/d'
	$(PY) -m phase2_pipelines status

.PHONY: check-phase2
check-phase2: ## Phase 2 exercise self-check: does your gate protect senior citizens? (reads, never repairs)
	$(PY) -m phase2_pipelines check

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

.PHONY: mlflow-ui
mlflow-ui: setup ## Browse runs and the registry at http://127.0.0.1:5000 (MLFLOW_PORT=...)
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --port $(MLFLOW_PORT) \
		--backend-store-uri "$$($(PY) -c 'from phase1_foundations.settings import get_settings as g; print(g().tracking_uri)')"

.PHONY: serve
serve: data ## Phase 3: serve the champion on http://127.0.0.1:$(PORT) (after `make phase2`)
	@rm -rf var/prometheus && mkdir -p var/prometheus  # metrics shared by the workers
	PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/prometheus \
		$(VENV)/bin/uvicorn phase3_serving.app:app --host 127.0.0.1 --port $(PORT) \
		--workers $(WORKERS) --no-access-log

.PHONY: phase3
phase3: phase2 ## Phase 3: train and register a champion (phase 2), then serve it on 127.0.0.1:$(PORT)
	@$(MAKE) --no-print-directory serve

.PHONY: serving-image
serving-image: setup ## Build the serving image (core + serving deps only; no network inside the build)
	IMAGE=$(SERVING_IMAGE) UV=$(UV) bash phase3_serving/deploy/build-serving-image.sh

.PHONY: bench-serving
bench-serving: data ## Benchmark: our service vs `mlflow models serve`, driven by wrk on 127.0.0.1
	$(PY) -m bench.bench_serving

.PHONY: bench-batch
bench-batch: data ## Benchmark: batch scoring of a 1,000,000-row file (rows per second)
	$(PY) -m bench.bench_batch

.PHONY: check-phase3
check-phase3: data ## Phase 3 exercise self-check
	$(PY) -m pytest -q -s phase3_serving/tests/test_exercise.py

.PHONY: bench-world
bench-world: data ## Benchmark: one 1,000,000-row world week (seconds, peak memory)
	$(PY) -m bench.bench_world

.PHONY: clean
clean: ## Remove runtime state, build outputs and caches (keeps .venv and the data)
	rm -rf var build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

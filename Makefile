# familynet: every target installs what it needs (uv from PyPI, Python packages from uv.lock, the CDK CLI from
# package-lock.json). Only Python 3.11+ and Node 20 are assumed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Python caches the bytecode it compiles (__pycache__, git-ignored). A machine that says not to (this one sets
# PYTHONDONTWRITEBYTECODE) has every new interpreter compile moto, pytest, cfn-lint... from source again, and
# make test starts hundreds: the runtime, its function workers, the benches, Schemathesis.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install web run demo test unit integration infra-tests e2e lint synth schemas bench redrive rebuild-reports deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	@echo "==> installing uv $(UV_VERSION) into $(TOOLS)/"
	@$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	@echo "==> installing Python packages from uv.lock into $(VENV)/"
	@$(UV) sync --frozen --quiet
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> installing the CDK CLI from package-lock.json"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

WEB_ASSETS := web/assets/.built
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(WEB_ASSETS): node_modules/.installed web/build.mjs $(wildcard web/src/*)
	@node web/build.mjs
	@touch $@

web: $(WEB_ASSETS) ## Build the form's assets (GOV.UK Frontend from package-lock.json) into web/assets/
	@true

$(CHROMIUM):
	@echo "==> installing Debian's chromium for the browser tests"
	@$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

install: $(VENV)/.synced $(WEB_ASSETS) ## Install the Python tools and packages, the CDK CLI, the form's assets
	@true

run: $(VENV)/.synced $(WEB_ASSETS) ## Run the whole system locally on http://127.0.0.1:8000 (PORT overrides; FAULTS="dynamodb.throttle=0.05,..." fails a share of AWS calls; DEMO=1 populates it; Ctrl-C stops it)
	@$(PY) -m infra.local $(if $(FAULTS),--faults "$(FAULTS)") $(if $(DEMO),--demo)

demo: ## make run DEMO=1: the system populated with facilitators, partners and referrals in every state
	@$(MAKE) --no-print-directory run DEMO=1

test: $(VENV)/.synced $(WEB_ASSETS) $(CHROMIUM) ## Run every test: unit, integration, infrastructure, end to end
	@echo "==> running every test"
	@$(PYTEST) tests -p no:cacheprovider -n 2 --dist loadgroup --durations=25

unit: $(VENV)/.synced ## Unit tests of the domain logic
	@$(PYTEST) tests/unit

integration: $(VENV)/.synced $(WEB_ASSETS) ## Each function against moto, wired from the synthesized template
	@$(PYTEST) tests/integration

infra-tests: $(VENV)/.synced $(WEB_ASSETS) ## CDK assertions, cdk-nag, cfn-lint
	@$(PYTEST) tests/infra

e2e: $(VENV)/.synced $(WEB_ASSETS) $(CHROMIUM) ## End-to-end tests over HTTP against the local runtime
	@$(PYTEST) tests/e2e

lint: $(VENV)/.synced ## ruff, mypy and import-linter (the layers of shared/)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy shared functions infra bench tests generators
	@$(VENV)/bin/lint-imports --no-cache

synth: $(VENV)/.synced node_modules/.installed $(WEB_ASSETS) ## Synthesize the deployable template (nag-checked) and cfn-lint it
	@npx cdk synth -q --no-notices
	@$(VENV)/bin/cfn-lint --regions eu-west-2 eu-west-1 --non-zero-exit-code error cdk.out/*.template.json
	@echo "==> cdk.out/ is nag-clean and lint-clean"

schemas: $(VENV)/.synced ## Write events/ (event JSON Schemas and examples) and docs/openapi.json from the models
	@$(PY) -m generators.event_catalogue
	@$(PY) -m generators.api_catalogue
	@$(PY) -m generators.data_protection

bench: $(VENV)/.synced $(WEB_ASSETS) ## Benchmarks: cold initialisation, AWS calls per intake, the daily check over 100,000 plans, make run to ready, 2,000 referrals through make run (BENCH_REFERRALS), 10,000 under faults (BENCH_RELIABILITY_REFERRALS), the AWS cost per 1,000 referrals (BENCH_COST_REFERRALS)
	@$(PY) -m bench.cold_init
	@$(PY) -m bench.aws_calls
	@$(PY) -m bench.review_sweep
	@$(PY) -m bench.local_start
	@$(PY) -m bench.load
	@$(PY) -m bench.reliability
	@$(PY) -m bench.cost

redrive: $(VENV)/.synced ## Move a dead-letter queue's messages back to their source: make redrive QUEUE=<name> (local runtime if running, else AWS)
	@$(PY) -m infra.redrive "$(QUEUE)"

rebuild-reports: $(VENV)/.synced ## Recompute a period's managers' figures from the reports' log, safely while events flow: make rebuild-reports PERIOD=2026-11 (or 2026-Q4; DRY_RUN=1 only prints what would change; local runtime if running, else AWS)
	@$(PY) -m infra.rebuild_reports "$(PERIOD)" $(if $(DRY_RUN),--dry-run)

deploy: synth ## Deploy to the AWS account of the current credentials (not run in CI)
	@npx cdk deploy --no-notices --require-approval broadening

clean: ## Remove build output (keeps the installed tools)
	@rm -rf cdk.out build web/assets test-artifacts .pytest_cache .mypy_cache .ruff_cache .import_linter_cache

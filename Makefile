# One entry point for everything: `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

# python3.13 is the Lambda runtime: PATH first, then pyenv. `python3.13 --version` must
# really run (a pyenv shim without PYENV_VERSION prints an error instead).
PYTHON313 ?= $(shell \
  if python3.13 --version >/dev/null 2>&1; then command -v python3.13; \
  elif command -v pyenv >/dev/null 2>&1 && ls "$$(pyenv root)"/versions/3.13*/bin/python3.13 >/dev/null 2>&1; then \
    ls -d "$$(pyenv root)"/versions/3.13*/bin/python3.13 | sort -V | tail -n 1; \
  fi)
PY313_BIN := $(dir $(PYTHON313))

VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .tools/sam
CHECKOV_VENV := .tools/checkov
PARLIAMENT_VENV := .tools/parliament
TRANSLATED := .aws-sam/translated
SAM := SAM_CLI_TELEMETRY=0 PATH="$(PY313_BIN):$$PATH" $(SAM_VENV)/bin/sam
REGION := ap-northeast-1
COVERAGE_FLOOR ?= 90
ENV ?= dev

export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: python313
python313:
	@if [ -z "$(PYTHON313)" ]; then \
	  echo "error: python3.13 not found (the Lambda runtime). Install it, e.g." >&2; \
	  echo "  pyenv install 3.13   or   apt-get install python3.13 python3.13-venv" >&2; \
	  exit 1; fi

$(VENV)/.installed: requirements/dev.txt requirements/constraints.txt | python313
	@[ -x $(PY) ] || "$(PYTHON313)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt | python313
	@[ -x $(SAM_VENV)/bin/python ] || "$(PYTHON313)" -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements/sam.txt
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt | python313
	@[ -x $(CHECKOV_VENV)/bin/python ] || "$(PYTHON313)" -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements/checkov.txt
	@touch $@

$(PARLIAMENT_VENV)/.installed: requirements/parliament.txt | python313
	@[ -x $(PARLIAMENT_VENV)/bin/python ] || "$(PYTHON313)" -m venv $(PARLIAMENT_VENV)
	$(PARLIAMENT_VENV)/bin/python -m pip install --quiet -r requirements/parliament.txt
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed $(SAM_VENV)/.installed ## create or update .venv and the SAM CLI tool venv

.PHONY: mariadb
mariadb: ## make sure MariaDB server binaries exist (installs them when root)
	@bash scripts/ensure_mariadb.sh

.PHONY: lint
lint: venv $(CHECKOV_VENV)/.installed $(PARLIAMENT_VENV)/.installed ## ruff, mypy, cfn-lint, sam validate --lint, checkov, parliament
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	MYPYPATH=src/secret_layer $(VENV)/bin/mypy src/secret_layer
	MYPYPATH=src/secret_layer:src/rotation $(VENV)/bin/mypy src/rotation
	MYPYPATH=src/secret_layer:src/health_check $(VENV)/bin/mypy src/health_check
	$(VENV)/bin/mypy harness
	MYPYPATH=src/secret_layer:src/rotation:src/health_check $(VENV)/bin/mypy scripts
	$(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml --region $(REGION)
	$(PY) scripts/translate_template.py --out-dir $(TRANSLATED)
	$(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact --framework cloudformation \
	  -f template.yaml -d $(TRANSLATED)
	$(PARLIAMENT_VENV)/bin/python -W ignore::UserWarning scripts/lint_iam_policies.py $(TRANSLATED)/*.json

.PHONY: test
test: lint mariadb ## the README's test command: lint, then pytest on every tier
	$(PY) -m pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR) $(PYTEST_ARGS)

.PHONY: check
check: test ## the same as make test (one gate, whatever it is called)

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build (python3.13), byte-compiled for faster cold starts
	$(SAM) build --template template.yaml
	@# /opt and /var/task are read-only in Lambda: ship .pyc so no cold start compiles.
	@# unchecked-hash: valid whatever the mtimes become after packaging.
	"$(PYTHON313)" -m compileall -q --invalidation-mode unchecked-hash .aws-sam/build

.PHONY: bench
bench: venv mariadb ## run every benchmark in benchmarks/ (on demand, not in CI)
	@for f in benchmarks/*.py; do echo "== $$f"; $(PY) "$$f"; done

.PHONY: local
local: venv mariadb ## the whole system here: TLS MariaDB + moto, a rotation, the canary, a fault drill
	@$(PY) -m scripts.local_run $(LOCAL_ARGS)

.PHONY: doctor
doctor: venv ## pre-deployment checklist: make doctor ENV=prod (AWS_ENDPOINT_URL=moto works too)
	@# silent: with --output json, stdout is the JSON document alone
	@$(PY) -m scripts.doctor --env $(ENV) $(DOCTOR_ARGS)

.PHONY: clean
clean: ## remove venvs, build output and caches
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

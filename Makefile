# imgjob: `make run` starts the whole system on embedded adapters; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
FAKEWEB_PORT ?= 8100
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help install browser run demo test test-unit deploy-check lint format bench infra-up infra-down infra-status clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP) ## create .venv and install the project with its dev tools

browser: ## install Debian's chromium and chromedriver if missing (the scraper's local browser)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "chromium and chromedriver are installed"; \
	else \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi

run: install browser ## start the whole system on embedded adapters at http://$(HOST):$(PORT)
	$(BIN)/imgjob up --host $(HOST) --port $(PORT)

demo: install browser ## run offline: the fake search engine and image server on loopback, then the system
	@set -m; $(BIN)/python -m tests.fakeweb --host 127.0.0.1 --port $(FAKEWEB_PORT) & fakeweb=$$!; \
	trap "kill $$fakeweb 2>/dev/null" EXIT INT TERM; \
	IMGJOB_SEARCH_PROVIDERS=bing \
	IMGJOB_BING_URL=http://127.0.0.1:$(FAKEWEB_PORT)/bing/total=120 \
	IMGJOB_ALLOW_PRIVATE_NETWORKS=true \
	$(BIN)/imgjob up --host $(HOST) --port $(PORT)

test: install browser lint infra-up ## lint, start the real infrastructure, then every test
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-unit: install ## the fast tier: unit and contract tests; what needs real infrastructure skips loudly
	IMGJOB_TEST_ALLOW_SKIP=1 $(BIN)/python -m pytest -q -p no:cacheprovider -rs tests/unit tests/contract -m "not browser"

deploy-check: install ## Dockerfile, docker-compose.yml and k8s/ checked offline (pinned kustomize, schemas, hadolint)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_deployment_*.py

lint: install ## ruff and mypy, as configured in pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## let ruff fix what it can
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install browser infra-up ## run every benchmark in bench/, each printing its figures beside its baseline and target
	@shopt -s nullglob; benches=(bench/bench_*.py); failed=0; \
	for b in "$${benches[@]}"; do echo "== $$b"; $(BIN)/python $$b || failed=1; done; \
	exit $$failed

infra-up: install ## install and start RabbitMQ, Cassandra, MinIO, Selenium Grid and SMTP on loopback
	scripts/infra/up.sh

infra-down: ## stop what infra-up started (data stays in var/infra)
	scripts/infra/down.sh

infra-status: ## which infrastructure services run, with their memory now and at peak
	scripts/infra/status.sh

clean: ## remove the virtualenv, caches and var/
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

# Two commands: `make run` (everything on this machine) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-streams test-contract test-integration lint schemas bench bench-adapters install postgres chromium clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)
	$(BIN)/python -m dsr.devstack.kafka jars

## make postgres: Debian's PostgreSQL server binaries, installed when missing (the tests start a cluster)
postgres:
	scripts/ensure-postgres

## make chromium: Debian's Chromium at /usr/bin/chromium, installed when missing (the browser tests drive it)
chromium:
	scripts/ensure-chromium

## make run: embedded Kafka, workers, web, sample CRM/recruitment/newsletter, SMTP sink + web mailbox
run: install
	$(BIN)/dsr dev

## make test: every tier; starts a real Kafka broker, PostgreSQL and real SMTP servers itself
test: install lint postgres chromium
	$(BIN)/python -m pytest -p no:cacheprovider -ra

test-unit: $(STAMP)
	$(BIN)/python -m pytest -m unit -q
test-streams: $(STAMP)
	$(BIN)/python -m pytest -m streams -q
test-contract: $(STAMP) postgres
	$(BIN)/python -m pytest -m contract -q
test-integration: install chromium
	$(BIN)/python -m pytest -m integration -q

## make lint: import layers, ruff's checks and its formatting
lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schemas: $(STAMP)
	$(BIN)/dsr schemas export

bench: install
	$(BIN)/python -m bench.pipeline

## make bench-adapters: tasks/s per adapter on PostgreSQL and SQLite (own cluster), 2-4 min; not part of `make bench`
bench-adapters: $(STAMP) postgres
	$(BIN)/python -m bench.adapters

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .import_linter_cache

# Two commands: `make run` (everything on this machine) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The lock files pin every dependency (make lock): run time only for the wheel and the Docker image,
# run time plus the test tools (same versions) for .venv, which make run, make test and CI use.
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
# The other Pythons that requires-python admits; the unit tier runs on each (make test-unit-pythons).
UNIT_PYTHONS := 3.12 3.13
UV_VERSION := 0.13.9
UV := $(VENV)-tools/bin/uv
COMPILE = $(UV) pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock"

.PHONY: run test test-unit test-streams test-contract test-integration test-unit-pythons lint wheel schemas bench \
	bench-adapters bench-recovery install postgres chromium lock lock-upgrade clean

$(STAMP): pyproject.toml $(TEST_LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11" >&2; exit 1; }
	@test -x $(BIN)/python || { echo "==> creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing the Python packages pinned in $(TEST_LOCK) (the first time: a minute or two)"
	$(BIN)/pip install --progress-bar off -r $(TEST_LOCK)
	@echo "==> installing dsr-pipeline itself, editable (its dependencies came from the lock)"
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)
	@echo "==> the Kafka broker jars (the first time: fetched with Maven, about a hundred files)"
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

## make test-unit-pythons: the unit tier on Python 3.12 and 3.13, in a virtualenv each (.venv-3.12 ...)
test-unit-pythons: $(UNIT_PYTHONS:%=$(VENV)-%/.installed)
	@for version in $(UNIT_PYTHONS); do \
		echo "==> the unit tier on Python $$version"; \
		$(VENV)-$$version/bin/python -m pytest -m unit -q -p no:cacheprovider || exit 1; \
	done

$(VENV)-%/.installed: pyproject.toml $(TEST_LOCK)
	@test -x $(VENV)-$*/bin/python || { echo "==> creating $(VENV)-$*"; "$$(scripts/find-python $*)" -m venv $(VENV)-$*; }
	@echo "==> installing the Python packages pinned in $(TEST_LOCK) into $(VENV)-$*"
	$(VENV)-$*/bin/pip install --quiet --no-compile -r $(TEST_LOCK)
	$(VENV)-$*/bin/pip install --quiet --no-deps -e .
	@touch $@

## make lint: import layers, ruff's checks and its formatting
lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make lock: rewrite the lock files after a change to pyproject.toml's dependencies, keeping the
## pins that still fit; make lock-upgrade: the newest versions pyproject.toml's ranges allow
lock: $(UV)
	$(COMPILE) --extra test $(LOCK_FLAGS) -o $(TEST_LOCK)
	$(COMPILE) -c $(TEST_LOCK) -o $(LOCK)
lock-upgrade:
	$(MAKE) lock LOCK_FLAGS=--upgrade
$(UV):
	$(PYTHON) -m venv $(VENV)-tools
	$(VENV)-tools/bin/pip install --quiet uv==$(UV_VERSION)

## make wheel: dist/ gets the sdist, then the wheel built from it (README, "Installing")
wheel: $(STAMP)
	$(BIN)/python -m build --outdir dist

schemas: $(STAMP)
	$(BIN)/dsr schemas export

## make bench: the raw Kafka ceiling, then one worker, then two, through the same erasure phases (bench/README.md)
bench: install postgres
	$(BIN)/python -m bench.pipeline $(BENCH_ARGS)

## make bench-adapters: tasks/s per adapter on PostgreSQL and SQLite (own cluster), 2-4 min; not part of `make bench`
bench-adapters: $(STAMP) postgres
	$(BIN)/python -m bench.adapters

## make bench-recovery: a worker's time to ready and peak RSS with 100,000 stored cases, tables in memory and in RocksDB
bench-recovery: install
	$(BIN)/python -m bench.recovery

clean:
	rm -rf $(VENV) $(VENV)-* var dist .pytest_cache .hypothesis .import_linter_cache

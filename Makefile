# The two set-up commands of the README:
#   make up     install everything, then run the all-in-one cloud
#   make test   install everything, then run the whole test suite
# Both are safe to re-run.

STATE_DIR ?= .stratus
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: up test install install-test unit e2e tempest bench-identity clean

install:
	scripts/install.sh

install-test:
	scripts/install.sh --test

up: install
	.venv/bin/stratus image build || echo "warning: the guest image was not built (see above)"
	.venv/bin/stratus up --state-dir $(STATE_DIR) --port $(PORT)

test: install-test
	scripts/run-tests.sh $(PYTEST_ARGS)

unit: install-test
	.venv/bin/pytest -q tests/unit

e2e: install-test
	.venv/bin/pytest -q tests/e2e

tempest: install-test
	tests/tempest/run.sh

bench-identity: install-test
	.venv/bin/python bench/identity/run.py

.PHONY: bench-transfer
bench-transfer: install-test
	.venv/bin/python bench/transfer/run.py

.PHONY: bench-scheduler
bench-scheduler: install-test
	.venv/bin/python bench/scheduler/run.py --naive

.PHONY: bench-network
bench-network: install-test
	.venv/bin/python bench/network/run.py

clean:
	rm -rf .venv $(STATE_DIR) tests/tempest/work

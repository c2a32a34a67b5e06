# The two commands of the README: `make run` (the portal with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test faults mutation lint lock

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	touch $@

run: $(VENV)/.installed
	PY=$(PY) scripts/run-demo.sh

test: $(VENV)/.installed
	scripts/setup-test-env.sh
	$(PY) -m pytest

# The fault suite three times in a row: a fault test that passes by luck fails here.
faults: $(VENV)/.installed
	scripts/setup-test-env.sh
	for i in 1 2 3; do \
		echo "fault suite, run $$i of 3"; \
		$(PY) -m pytest tests/faults -p no:cacheprovider || exit 1; \
	done

# Mutation check of the engine, the services' rules and the permission checks (scripts/mutation.py):
# every mutant must be killed by a test, or be listed there as equivalent, with the reason.
mutation: $(VENV)/.installed
	scripts/setup-test-env.sh
	$(PY) scripts/mutation.py

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Re-pin the dependencies after changing pyproject.toml.
lock: $(VENV)/.installed
	$(VENV)/bin/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		-o requirements.lock pyproject.toml

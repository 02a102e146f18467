# The two commands: `make run` (the whole stack, demo included) and `make test` (the whole suite).
# Both set up what they need on a fresh machine and reuse it afterwards.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run stop test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall whenever a requirements file or the package metadata changes.
$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	# Compile the set engine's kernels once per install (numba caches them beside the package).
	$(BIN)/python -c "from service.dj.sequencing.kernels import warm; warm()"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/aidj directus install
	$(BIN)/aidj run

stop: $(STAMP)
	$(BIN)/aidj stop

test: $(STAMP)
	scripts/ensure-system-packages
	$(BIN)/aidj directus install
	scripts/test

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var .pytest_cache .ruff_cache

# Two commands matter on a fresh machine: `make run` (the whole system, locally) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?=

.PHONY: install run load test lint format lock bench clean
# The page's accessibility check injects axe-core from npm (package.json, package-lock.json).
NODE_MODULES := node_modules/.package-lock.json

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

run: install
	$(BIN)/python -m launcher $(if $(DATA_DIR),--data-dir $(DATA_DIR))

test: install $(NODE_MODULES)
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-pin every dependency from pyproject.toml into requirements.lock, in a clean venv.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	echo "# pinned by 'make lock' from pyproject.toml; install with: pip install -r requirements.lock" > requirements.lock
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e ' >> requirements.lock
	rm -rf .lock-venv

bench: install
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache *.egg-info

# Two commands: `make run` serves the seeded demo, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := YIPIN_ENV=development $(BIN)/flask --app backend
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install lint migrate seed lock clean translations jest

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

PO_FILES := $(wildcard backend/translations/*/LC_MESSAGES/messages.po)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt $(PO_FILES)
	$(BIN)/pip install --quiet -c constraints.txt -e .
	$(BIN)/pybabel compile --use-fuzzy -d backend/translations
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(STAMP)

## Serve the seeded demo on SQLite at http://127.0.0.1:5000
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

## Install the test dependencies, lint, check the layering, and run the whole suite (pytest, then jest)
test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(if $(SKIP_JEST),@echo "jest skipped (SKIP_JEST is set)",$(MAKE) --no-print-directory jest)

# The mini-program's packages, installed from the committed lock file (Node.js and npm);
# only `make test` and `make jest` need them, `make run` does not.
NPM_STAMP := miniprogram/node_modules/.installed

$(NPM_STAMP): miniprogram/package.json miniprogram/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Node.js and npm are needed for the mini-program's tests (or set SKIP_JEST=1)"; exit 1; }
	cd miniprogram && npm ci --no-audit --no-fund
	touch $@

## The mini-program's jest suite alone
jest: $(NPM_STAMP)
	cd miniprogram && npx jest --ci

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

migrate: $(STAMP)
	$(FLASK) db upgrade

seed: $(STAMP)
	$(FLASK) seed-demo

## Re-extract the message catalogue after changing texts (then translate and `make install`)
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o backend/translations/messages.pot backend portal miniprogram_api
	$(BIN)/pybabel update -i backend/translations/messages.pot -d backend/translations

## Refresh constraints.txt from the current environment (after changing pyproject.toml)
lock: $(TEST_STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache *.egg-info miniprogram/node_modules

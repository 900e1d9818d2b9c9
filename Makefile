# Two commands: `make run` serves the seeded demo, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := YIPIN_ENV=development $(BIN)/flask --app backend
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install lint migrate seed lock clean translations

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

## Install the test dependencies, lint, and run the whole suite
test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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
	rm -rf $(VENV) instance .pytest_cache .ruff_cache *.egg-info

# The two commands a newcomer needs:  `make demo`  and  `make test`.
# Both create the virtual environment and install everything from pyproject.toml on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean install

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)  ## run the whole migration end to end on embedded defaults (no credentials)
	$(BIN)/crm-migrate demo

test: $(STAMP)  ## run every test: pytest (unit, dbt build and tests, sqlfluff, ruff, end to end)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models macros data-tests

clean:
	rm -rf var target logs

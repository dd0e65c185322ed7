# The two commands of the README.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt

# Install and start the back office on SQLite with the demo data.
run: install
	$(BIN)/python app.py

# Install and run the whole test suite on SQLite, PostgreSQL and MariaDB.
test: install
	bash scripts/ensure-databases
	bash scripts/ensure-chromium
	$(BIN)/python -m pytest

# The two commands of the README, and the migration of a new list (README: Adding a list).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install migration

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

# A migration for the models as they now are: `make migration m="vehicles"`. Generated against
# a scratch SQLite database brought to the latest migration first, so that instance/qingdan.db
# (or DATABASE_URL) may be in any state, or not exist yet.
migration:
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"' >&2; exit 2; }
	@test -x $(BIN)/flask || $(MAKE) install
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	export QINGDAN_ENV=development QINGDAN_INSTANCE="$$scratch" \
	       DATABASE_URL="sqlite:///$$scratch/qingdan.db" && \
	$(BIN)/flask --app app db upgrade && $(BIN)/flask --app app db migrate -m "$(m)"

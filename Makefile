# Referral intake: the two commands a newcomer needs.
#   make run    install, migrate, seed the local Maildir, start worker + web; Ctrl-C stops both
#   make test   lint (ruff, mypy, import contracts), the parser tests without Django, the service's
#               tests (SQLite), then the database tests on PostgreSQL

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
INTAKE := $(BIN)/intake
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/intake
# The service's tests that talk to the database most (tests/intake/test_NAME.py)
POSTGRES_TESTS := store pipeline imap_polls decisions outbox end_to_end web alarms \
                  worker_idle hostile_attacks

.PHONY: run install test test-postgres lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

# GOV.UK Frontend for the review pages: installed from frontend/package-lock.json and
# compiled into frontend/build/ (served as static files; never committed).  Needs node + npm.
frontend/build/govuk/intake.css: frontend/package.json frontend/package-lock.json frontend/src/intake.scss frontend/copy-assets.js
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

install: $(VENV)/.installed frontend/build/govuk/intake.css

run: export DJANGO_DEBUG = 1
run: install
	mkdir -p var
	$(INTAKE) migrate
	$(INTAKE) seed
	@echo
	@echo "  Review page:   http://127.0.0.1:8000/  (add yourself first: $(INTAKE) createuser YOURNAME;"
	@echo "                 at your first sign-in you set up an authenticator app with a QR code)"
	@echo "  Web (health):  http://127.0.0.1:8000/healthz"
	@echo "  Mailbox:       var/mail/referrals (a Maildir; filed mail goes to its .Processed folder)"
	@echo "  Replies:       var/outbox/ (one .eml per reply)"
	@echo "  Stop:          Ctrl-C"
	@echo
	@trap 'kill $$worker $$web 2>/dev/null; wait' INT TERM; \
	$(INTAKE) worker & worker=$$!; \
	$(INTAKE) serve --host 127.0.0.1 --port 8000 & web=$$!; \
	wait

# tests/parsers first, with no Django at all (its conftest walls off django and intake):
# the parsers stay pure and testable on their own (DESIGN.md).  Then the service's tests.
test: install lint
	env -u DJANGO_SETTINGS_MODULE $(BIN)/pytest -p no:django tests/parsers
	$(BIN)/pytest tests/intake
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(POSTGRES_URL)'.rsplit('/', 1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ "$$CI" = true ]; then echo "PostgreSQL not reachable at $(POSTGRES_URL) (CI=true: failing)"; exit 1; \
	else echo "PostgreSQL not reachable at $(POSTGRES_URL): store tests ran on SQLite only"; fi

test-postgres: install
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/pytest $(POSTGRES_TESTS:%=tests/intake/test_%.py)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy parsers intake config
	$(BIN)/lint-imports  # the walls of DESIGN.md (.importlinter)

# Stadtfunk: `make run` serves the Musterstadt demo, `make test` runs the suite.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP  := $(VENV)/.installed-requirements
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint format suite setup demo browser clean

## Create or update the virtual environment from the pinned requirements.
setup: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

## Migrate and load the Musterstadt demo (idempotent).
demo: setup
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo

## Serve the portal on http://127.0.0.1:8000 with a Celery worker and beat; Ctrl-C stops all.
run: demo
	$(BIN)/honcho --procfile Procfile.dev start

## Debian's Chromium for the browser tests: installed with apt-get as root, else a clear message.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			echo "Installing Debian's chromium …"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Debian's chromium at $(CHROMIUM)."; \
			echo "Install it with: sudo apt-get install chromium"; \
			exit 1; \
		fi; \
	fi

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## The whole suite, without lint (CI runs it again on PostgreSQL and Redis).
suite: setup browser
	$(BIN)/python -m pytest -n 2 --dist loadfile

test: lint suite

clean:
	rm -rf var .pytest_cache .ruff_cache

# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test-deps demo test bench bench-quick lint serve clean-runs synthetic

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when a requirements file or the project's metadata changes; the editable install puts the `levasa` command
# into .venv/bin (no build isolation: setuptools is pinned in requirements-dev.txt, nothing else is fetched).
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Train the default runs on the built-in synthetic faces when none exist yet, export what the explorer shows, then
# serve it (http://127.0.0.1:8000; LEVASA_PORT / LEVASA_HOST to change).
demo: setup
	$(BIN)/levasa demo --serve $(if $(DATA),--data "$(DATA)")

# Serve every run in runs/ (settings: LEVASA_* environment variables, see backend/settings.py).
serve: setup
	$(BIN)/levasa serve

# System packages the tests drive: Debian's chromium (browser tests, with playwright; `playwright install` cannot
# download here) and docker-compose (validates docker-compose.yml; no Docker engine runs here).
test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="chromium"; \
	command -v docker-compose >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for the tests:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y -q $$missing >/dev/null || \
	    { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q $$missing >/dev/null; }; \
	fi

test: setup test-deps
	$(BIN)/python -m pytest

# Every benchmark, full length (figures for the README). `make bench-quick` is the short CI variant.
bench: setup test-deps
	$(BIN)/levasa bench

bench-quick: setup test-deps
	$(BIN)/levasa bench --quick

lint: setup
	$(BIN)/ruff check .

synthetic: setup
	$(BIN)/levasa synth --out data/synthetic --n 20000 --seed 0

clean-runs:
	rm -rf runs

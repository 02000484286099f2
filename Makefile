# The two commands: `make run` (serve the portal with demo data) and `make test` (the whole suite).
# Both set up everything they need on a fresh clone; see README.md.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
STAMP := $(VENV)/.installed-requirements

.PHONY: run test bench lint format install messages makemessages services system-packages check-deploy clean vendor-bootstrap

install: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@cp requirements.txt $(STAMP)

# Compile the catalogues with Babel, so no GNU gettext is needed to run the portal.
messages: install
	$(VENV)/bin/pybabel compile --domain django --directory locale --statistics

# Extract strings into the catalogues (needs GNU gettext; `make system-packages` installs it).
makemessages: install
	$(MANAGE) makemessages --locale vi --no-obsolete --no-location --add-location file --ignore '.venv/*' --ignore 'var/*'

run: install messages
	DEBUG=$${DEBUG:-true} $(MANAGE) migrate --noinput
	DEBUG=$${DEBUG:-true} $(MANAGE) seed_demo
	DEBUG=$${DEBUG:-true} $(PY) -m config.devserver 127.0.0.1:8000

services:
	bash .ci/ensure-services.sh

system-packages:
	bash .ci/ensure-system-packages.sh

# Lint first: CI refuses what lint refuses.
test: lint system-packages services messages
	$(VENV)/bin/pytest

# Benchmarks (never part of CI): PostgreSQL, Redis, gunicorn and wrk; see bench/README.md.
bench: install system-packages services messages
	$(PY) -m bench.run

# ruff, and the import contracts of pyproject.toml (import-linter): imports point one way.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Bootstrap's compiled files come from the npm registry and are committed under
# static/vendor/bootstrap, so the portal never loads anything from a CDN.
BOOTSTRAP_VERSION := 5.3.8
vendor-bootstrap:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent bootstrap@$(BOOTSTRAP_VERSION) && tar xzf bootstrap-$(BOOTSTRAP_VERSION).tgz && \
	cp package/dist/css/bootstrap.min.css package/dist/js/bootstrap.bundle.min.js package/LICENSE $(CURDIR)/static/vendor/bootstrap/ && \
	sed -i '/sourceMappingURL/d' $(CURDIR)/static/vendor/bootstrap/bootstrap.min.* && rm -rf $$tmp

clean:
	rm -rf var .pytest_cache .ruff_cache

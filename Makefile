# Practicum — two commands: `make run` starts everything, `make test` checks everything.
# Only python3.11 and pip are needed; the virtualenv and locked dependencies are made here.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test deps migrate lint typecheck contracts pytest lock bench clean browsers interop

# Development installs the runtime lock plus the test tools, all pinned with hashes.
$(STAMP): requirements.lock requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@touch $(STAMP)

## run: migrate the embedded SQLite databases under var/ and start gateway + 3 services
run: $(STAMP)
	$(BIN)/python -m shared.devrun

## migrate: upgrade every service's database to head (uses each service's DATABASE_URL)
migrate: $(STAMP)
	@for svc in catalog credentials badges gateway; do $(BIN)/alembic -n $$svc upgrade head || exit 1; done

## test: lint, format check, types, import contracts, then pytest (SQLite, and PostgreSQL when TEST_DATABASE_URL is set);
## prints each stage's time at the end
test:
	@MAKE="$(MAKE)" bash .ci/stages.sh deps lint typecheck contracts interop browsers pytest

## deps: the virtualenv with the locked runtime and test dependencies
deps: $(STAMP)

## browsers: Debian's Chromium and chromedriver for the real-browser tests (tests/e2e/test_badge_page_browser.py).
## Playwright drives /usr/bin/chromium; it never downloads a browser of its own (no `playwright install`).
## As root with apt-get (CI) they are installed when missing; elsewhere the browser tests skip, saying why.
BROWSER_PACKAGES := chromium chromium-driver fonts-liberation
browsers:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "browsers: installing $(BROWSER_PACKAGES) from Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(BROWSER_PACKAGES) >/dev/null || exit 1; \
	else echo "browsers: chromium/chromium-driver missing and not root: the real-browser tests will skip" >&2; fi

## interop: the verifiers this project did not write, for the badges interop tests — the Digital
## Bazaar stack and jose (Node, from package-lock.json) and the IMS OB 2.0 validator (its own venv)
interop: interop/node/node_modules/.installed .venv-ob2/.ob2-requirements.sha256

interop/node/node_modules/.installed: interop/node/package-lock.json
	npm ci --prefix interop/node --no-audit --no-fund --loglevel=error
	@touch $@

.venv-ob2/.ob2-requirements.sha256: interop/ob2/requirements.txt
	interop/ob2/setup.sh .venv-ob2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

# One pytest process per backend at once when PostgreSQL is configured (.ci/pytest.sh); exit code
# 5 (nothing collected) fails: the suite is missing.
pytest: $(STAMP) browsers
	@PYTHON=$(BIN)/python bash .ci/pytest.sh $(PYTEST_ARGS)

## bench: the gateway overhead benchmark (prints figures; never part of `make test`).
## It prefers wrk (a C load generator) and installs it from Debian when it can.
bench: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1; } || \
		echo "wrk not available: using the slower Python load generator"
	$(BIN)/python bench/gateway_overhead.py

## lock: re-resolve requirements*.in into the hash-locked requirements*.lock (needs the registry)
lock:
	$(PYTHON) -m venv /tmp/practicum-lock && /tmp/practicum-lock/bin/pip install --quiet uv
	/tmp/practicum-lock/bin/uv pip compile --python-version 3.11 --generate-hashes \
		--output-file requirements.lock requirements.in
	/tmp/practicum-lock/bin/uv pip compile --python-version 3.11 --generate-hashes \
		--output-file requirements-dev.lock requirements-dev.in

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

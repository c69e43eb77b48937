# dm3 registry: the README's commands. Everything runs from the project's own pinned toolchain:
# .venv (uv + uv.lock), node_modules (npm + package-lock.json) and a project-local vyper binary for ape-vyper.
SHELL := /bin/bash
UV_VERSION := 0.13.8
export PATH := $(CURDIR)/.venv/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# ape-vyper asks vvm for a vyper binary; point vvm at the pip-installed vyper 0.4.3 instead of downloading one.
export VVM_BINARY_PATH := $(CURDIR)/.vvm
export HYPOTHESIS_PROFILE ?= default
PYTEST_ARGS ?=
ARGS ?=

.PHONY: setup chromium webapp lint format test test-webapp demo devnet devnet-down bench-gas bench-ens bench-freshness bench-api bench-indexer bench-relayer bench-proofs clean

setup: .venv/.synced node_modules/.installed .vvm/vyper-0.4.3 webapp/static/app.js chromium

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || pip install --quiet uv==$(UV_VERSION)
	uv sync --frozen
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.vvm/vyper-0.4.3: .venv/.synced
	@mkdir -p .vvm
	ln -sf ../.venv/bin/vyper $@

# The inbox app's bundle (webapp/src -> webapp/static/app.js) with the esbuild pinned in package-lock.json.
webapp/static/app.js: node_modules/.installed $(wildcard webapp/src/*.js)
	esbuild webapp/src/app.js --bundle --format=esm --target=es2022 --minify --sourcemap --log-level=warning --outfile=$@

webapp: webapp/static/app.js

# The browser tests drive Debian's chromium (Playwright's own browser download does not work offline).
chromium:
	@[ -x /usr/bin/chromium ] || { echo "installing chromium (apt) for the browser tests"; \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }) \
		|| echo "could not install chromium: the browser tests will be skipped (run as root: apt-get install chromium)"; }

lint: setup
	ruff check .
	ruff format --check .
	mypy
	cd webapp && ../node_modules/.bin/tsc -p .

format: setup
	ruff check --fix .
	ruff format .

# The suite in two concurrent ape sessions (scripts/test-suite.sh); `ape test tests` runs it in one.
test: setup lint test-webapp
	bash scripts/test-suite.sh $(PYTEST_ARGS)

# The app's DOM-free modules (API client, EIP-712 table, dm3 profiles) under Node.js's own test runner.
test-webapp: setup
	node --test webapp/tests/*.test.js

demo: setup
	python -m indexer.devnet.demo $(ARGS)

devnet: setup
	python -m indexer.devnet up --services $(ARGS)

devnet-down:
	python -m indexer.devnet down

bench-gas: setup
	python -m bench.gas.run

bench-ens: setup
	python -m bench.ens.run

bench-freshness: setup
	python -m bench.freshness.run

bench-api: setup
	python -m bench.api.run

bench-indexer: setup
	python -m bench.indexer.run

bench-relayer: setup
	python -m bench.relayer.run

bench-proofs: setup
	python -m bench.proofs.run

clean:
	rm -rf .build data .devnet

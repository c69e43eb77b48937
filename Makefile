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

.PHONY: setup lint format test demo devnet devnet-down bench-gas bench-ens bench-freshness bench-api bench-indexer bench-relayer clean

setup: .venv/.synced node_modules/.installed .vvm/vyper-0.4.3

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

lint: setup
	ruff check .
	ruff format --check .
	mypy

format: setup
	ruff check --fix .
	ruff format .

test: setup lint
	ape test tests $(PYTEST_ARGS)

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
	python bench/indexer/run.py

bench-relayer: setup
	python -m bench.relayer.run

clean:
	rm -rf .build data .devnet

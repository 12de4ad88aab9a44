# calbridge — the two commands:
#   make run    install what is missing, then run the app at http://127.0.0.1:3000
#   make test   install what is missing, then run every test

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/tools/node_modules/.bin:$(PATH)
# Build artefacts live outside the clone so repeat runs (and fresh clones) reuse them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/calbridge/target

.PHONY: run test setup setup-test test-rust test-hydrate test-e2e release

run: setup
	cargo leptos watch

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

test: setup-test test-rust test-hydrate test-e2e

# Unit and integration tests; every storage test runs on SQLite and PostgreSQL.
test-rust:
	cargo test --features ssr

# The hydrate (WASM) build plus the server binary the browser tests run.
test-hydrate:
	cargo leptos build

# Playwright in Debian's headless Chromium.
test-e2e:
	cd end2end && npx playwright test

release: setup
	cargo leptos build --release

# calbridge — the two commands:
#   make run    install what is missing, then run the app at http://127.0.0.1:3000
#   make test   install what is missing, then run every test

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/tools/node_modules/.bin:$(CURDIR)/tools/venv/bin:$(PATH)
# Build artefacts live outside the clone so repeat runs reuse them. One folder
# per checkout: the crate is also a cdylib, whose outputs carry no per-path
# hash, so two checkouts sharing a folder would overwrite each other's builds.
CHECKOUT_ID := $(shell printf '%s' "$(CURDIR)" | sha256sum | cut -c1-12)
export CARGO_TARGET_DIR ?= $(HOME)/.cache/calbridge/target-$(CHECKOUT_ID)

.PHONY: run test setup setup-test test-rust test-hydrate test-e2e lint production-check release bundle-check print-target-dir

# Development and tests build the server with the provider sandbox; the
# release build (Cargo.toml's bin-features) leaves it out.
DEV_FEATURES := ssr,sandbox

run: setup
	cargo leptos watch --bin-features $(DEV_FEATURES)

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

test: setup-test test-rust test-hydrate test-e2e

# Unit and integration tests; every storage test runs on SQLite and PostgreSQL.
test-rust:
	cargo test --workspace --features $(DEV_FEATURES)

# The hydrate (WASM) build plus the server binary the browser tests run.
test-hydrate:
	cargo leptos build --bin-features $(DEV_FEATURES)

# Playwright in Debian's headless Chromium.
test-e2e:
	cd end2end && npx playwright test

# CI's gates before the tests (see .ci/run): fmt, clippy, import cycles.
lint: setup
	scripts/lint.sh

# The server as production builds it: no sandbox code, 404 under /sandbox/.
production-check: setup
	scripts/production-check.sh

release: setup
	cargo leptos build --release

# The release build, then the gzip -9 sizes of the whole app and of what
# /login loads; fails over budget (see scripts/bundle-check.sh). Not part of
# `make test`.
bundle-check: release
	scripts/bundle-check.sh

print-target-dir:
	@echo $(CARGO_TARGET_DIR)

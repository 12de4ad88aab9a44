#!/usr/bin/env bash
# Starts calbridge for the browser tests: a fresh SQLite data dir, no demo
# seed (the tests sign up the first account themselves), the site built by
# `cargo leptos build`.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-3100}
target_dir=${CARGO_TARGET_DIR:?run through make test-e2e, which sets CARGO_TARGET_DIR}
bin=${CALBRIDGE_BIN:-$target_dir/debug/calbridge}
data_dir=$(mktemp -d)
trap 'rm -rf "$data_dir"' EXIT
export CALBRIDGE_DATA_DIR="$data_dir"
export CALBRIDGE_DEMO=0
export LEPTOS_SITE_ADDR="127.0.0.1:$port"
export CALBRIDGE_PUBLIC_URL="http://127.0.0.1:$port"
export CALBRIDGE_LEPTOS_CONFIG=Leptos.toml
export LEPTOS_ENV=DEV
unset DATABASE_URL
"$bin" serve

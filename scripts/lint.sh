#!/usr/bin/env bash
# The gates CI runs before the tests: formatting, clippy with warnings denied
# for the server (with the sandbox and the tests) and for the browser build,
# and no import cycles between modules. Lint levels live in Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1;34m[lint]\033[0m %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "clippy: server, sandbox, tests, benches and tools"
cargo clippy --workspace --all-targets --features ssr,sandbox -- -D warnings

step "clippy: the production server (no sandbox)"
cargo clippy -p calbridge --bins --lib --features ssr -- -D warnings

step "clippy: the browser (hydrate) build"
cargo clippy -p calbridge --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

step "import cycles"
scripts/module-cycles src
scripts/module-cycles crates/sandbox/src

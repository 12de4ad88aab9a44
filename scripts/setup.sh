#!/usr/bin/env bash
# Installs what calbridge needs to build, run and test, skipping anything
# already present. Safe to run again and again. Only package registries are
# used (crates.io, npm, Debian); nothing downloads a prebuilt binary.
#
#   scripts/setup.sh          build + run tools
#   scripts/setup.sh --test   … plus Chromium and Playwright for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$root/tools/node_modules/.bin:$root/tools/venv/bin:$PATH"

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# The tools are built once and never profiled: skip their release profile's
# fat LTO (one single-threaded link of many minutes) and use every core.
tool_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_TARGET_DIR="${HOME}/.cache/calbridge/tool-build" cargo install "$@"
}

# The WASM target for the hydrate build.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.10 (0.3.11 needs a newer rustc); no_downloads keeps it
# from fetching binaries at build time.
if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (a few minutes, once)"
  tool_install cargo-leptos --version 0.3.10 --locked --features no_downloads
fi

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly.
# Not --locked: some of its locked dependencies are no longer on crates.io.
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " ${wasm_bindgen_version}\$"; then
  say "installing wasm-bindgen-cli ${wasm_bindgen_version} (a few minutes, once)"
  tool_install wasm-bindgen-cli --version "${wasm_bindgen_version}" --force
fi

# wasm-opt for release builds, from the npm package binaryen, project-local.
if [ ! -x tools/node_modules/.bin/wasm-opt ]; then
  say "installing wasm-opt (npm: binaryen) into tools/"
  (cd tools && npm ci --no-audit --no-fund)
fi

if [ "${1:-}" = "--test" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium for the browser tests"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y chromium
  fi
  # openapi-spec-validator (PyPI), project-local: the API document's test
  # runs it on what /api/v1/openapi.json serves.
  if [ ! -x tools/venv/bin/openapi-spec-validator ]; then
    say "installing openapi-spec-validator (PyPI) into tools/venv"
    python3 -m venv tools/venv
    tools/venv/bin/pip install --quiet --disable-pip-version-check 'openapi-spec-validator==0.7.2'
  fi
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    say "installing Playwright (no browser download; it drives /usr/bin/chromium)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
fi

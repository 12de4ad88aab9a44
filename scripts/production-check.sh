#!/usr/bin/env bash
# The production server is built without the provider sandbox: this builds
# it the way `make release` does (features `ssr` only), checks that none of
# the sandbox crate's code is linked in, starts it, and checks that
# /sandbox/ answers 404.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[production-check]\033[0m %s\n' "$*"; }

say "building the server without the sandbox"
cargo build -p calbridge --bin calbridge --features ssr
bin="${CARGO_TARGET_DIR:-target}/debug/calbridge"

if grep -qa 'calbridge_sandbox' "$bin"; then
  echo "the production binary contains sandbox code (symbols named calbridge_sandbox)" >&2
  exit 1
fi
say "no sandbox code in $bin ($(du -h "$bin" | cut -f1))"

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CALBRIDGE_ENV=dev CALBRIDGE_DEMO=0 CALBRIDGE_SANDBOX=auto \
  CALBRIDGE_DATA_DIR="$dir" DATABASE_URL="sqlite://$dir/calbridge.db" \
  CALBRIDGE_PUBLIC_URL="http://127.0.0.1:$port" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  CALBRIDGE_LEPTOS_CONFIG=does-not-exist.toml RUST_LOG=warn \
  "$bin" serve > "$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT

for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  sleep 0.1
done

for path in /sandbox/ /sandbox/_control/truth /sandbox/google/calendar/v3/users/me/calendarList; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")
  if [ "$status" != 404 ]; then
    echo "GET $path answered $status, not 404" >&2
    exit 1
  fi
done
say "/sandbox/ answers 404"

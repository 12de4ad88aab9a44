#!/usr/bin/env bash
# Prints the gzip -9 sizes of the browser bundle that `cargo leptos build
# --release` left in the site's pkg folder, and fails when a budget is
# exceeded:
#
#   whole app   every .wasm and .js file in pkg/        ≤ WHOLE_BUDGET  (350,000)
#   /login      what the login page loads               ≤ LOGIN_BUDGET  (150,000)
#
# What /login loads is read off the page itself: the script starts the
# release server (SQLite in a temporary folder, sandbox off), fetches /login
# and counts every JS and WASM file of pkg/ the page names, plus every JS
# module those import. A page without islands names none.
#
#   scripts/bundle-check.sh [PKG_DIR]     (default: target/site/pkg)
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=${1:-target/site/pkg}
whole_budget=${WHOLE_BUDGET:-350000}
login_budget=${LOGIN_BUDGET:-150000}

[ -d "$pkg" ] || { echo "bundle-check: no $pkg (run cargo leptos build --release first)" >&2; exit 2; }

gz() { gzip -9 -c "$1" | wc -c; }
raw() { wc -c <"$1"; }

# The release server renders /login as a visitor gets it.
server=${SERVER_BIN:-$(make -s print-target-dir)/release/calbridge}
[ -x "$server" ] || { echo "bundle-check: no release server at $server (run make release first)" >&2; exit 2; }
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CALBRIDGE_DATA_DIR=$data CALBRIDGE_DEMO=0 CALBRIDGE_SANDBOX=0 LEPTOS_SITE_ADDR=127.0.0.1:$port \
  "$server" serve >"$data/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; rm -rf "$data"' EXIT
login_html=""
for _ in $(seq 1 100); do
  if login_html=$(curl -sf "http://127.0.0.1:$port/login"); then break; fi
  sleep 0.2
done
[ -n "$login_html" ] || { echo "bundle-check: the server did not serve /login:" >&2; cat "$data/server.log" >&2; exit 2; }

# The pkg files the page names, and the JS modules they import.
login_files=()
queue=()
while IFS= read -r name; do
  file="$pkg/$name"
  [ -f "$file" ] || continue
  file=$(realpath "$file")
  case " ${login_files[*]} " in *" $file "*) continue ;; esac
  login_files+=("$file")
  case "$file" in *.js) queue+=("$file") ;; esac
done < <(grep -oE "/pkg/[A-Za-z0-9_.-]+\.(js|wasm)" <<<"$login_html" | sed 's|^/pkg/||' | sort -u || true)
while [ ${#queue[@]} -gt 0 ]; do
  file=${queue[0]}
  queue=("${queue[@]:1}")
  while IFS= read -r spec; do
    dep=$(realpath -m "$(dirname "$file")/$spec")
    [ -f "$dep" ] || continue
    case " ${login_files[*]} " in *" $dep "*) continue ;; esac
    login_files+=("$dep")
    queue+=("$dep")
  done < <(grep -oE "(from|import)[[:space:]]*['\"]\.{1,2}/[^'\"]+['\"]" "$file" | sed -E "s/.*['\"](.*)['\"]/\1/" || true)
done

printf '%-48s %10s %10s\n' "file" "bytes" "gzip -9"
whole=0 whole_raw=0 login=0 login_raw=0
while IFS= read -r file; do
  file=$(realpath "$file")
  r=$(raw "$file") g=$(gz "$file")
  whole=$((whole + g)) whole_raw=$((whole_raw + r))
  mark=""
  case " ${login_files[*]} " in *" $file "*) mark=" (/login)"; login=$((login + g)) login_raw=$((login_raw + r)) ;; esac
  printf '%-48s %10d %10d%s\n' "$(basename "$file")" "$r" "$g" "$mark"
done < <(find "$pkg" -type f \( -name '*.wasm' -o -name '*.js' \) | sort)

echo
printf '%-48s %10d %10d   budget %d\n' "whole app" "$whole_raw" "$whole" "$whole_budget"
printf '%-48s %10d %10d   budget %d\n' "/login" "$login_raw" "$login" "$login_budget"

status=0
if [ "$whole" -gt "$whole_budget" ]; then
  echo "bundle-check: whole app is $whole bytes gzipped, over the budget of $whole_budget" >&2
  status=1
fi
if [ "$login" -gt "$login_budget" ]; then
  echo "bundle-check: /login loads $login bytes gzipped, over the budget of $login_budget" >&2
  status=1
fi
exit $status

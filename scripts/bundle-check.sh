#!/usr/bin/env bash
# Prints the gzip -9 sizes of the browser bundle that `cargo leptos build
# --release` left in the site's pkg folder, and fails when a budget is
# exceeded:
#
#   whole app   every .wasm and .js file in pkg/        ≤ WHOLE_BUDGET  (350,000)
#   /login      what the login page loads               ≤ LOGIN_BUDGET  (150,000)
#
# What /login loads: the main JS that the islands script imports, the main
# WASM, and every JS module the main JS imports. The app is in islands mode
# with one WASM for every page, so today that is the whole app; the walk over
# imports keeps the check honest if chunks come back.
#
#   scripts/bundle-check.sh [PKG_DIR]     (default: target/site/pkg)
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=${1:-target/site/pkg}
name=${OUTPUT_NAME:-calbridge}
whole_budget=${WHOLE_BUDGET:-350000}
login_budget=${LOGIN_BUDGET:-150000}

[ -d "$pkg" ] || { echo "bundle-check: no $pkg (run cargo leptos build --release first)" >&2; exit 2; }

gz() { gzip -9 -c "$1" | wc -c; }
raw() { wc -c <"$1"; }

# The main files, hashed (calbridge.<hash>.js) or not (calbridge.js).
main_js=$(find "$pkg" -maxdepth 1 -type f \( -name "$name.js" -o -name "$name.*.js" \) | head -n1)
main_wasm=$(find "$pkg" -maxdepth 1 -type f \( -name "$name.wasm" -o -name "$name.*.wasm" \) | head -n1)
[ -n "$main_js" ] && [ -n "$main_wasm" ] || { echo "bundle-check: no $name JS/WASM in $pkg" >&2; exit 2; }

# JS modules the main JS imports statically (relative specifiers), and theirs.
login_files=("$main_js" "$main_wasm")
queue=("$main_js")
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
for i in "${!login_files[@]}"; do login_files[$i]=$(realpath "${login_files[$i]}"); done

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

#!/usr/bin/env bash
# Runs every test: installs what is missing and builds (scripts/setup.sh), then the cmocka unit
# tests (make check, under AddressSanitizer), the JavaScript unit tests (tests/js) and the end-to-end tests (node's test runner driving
# real Janus, nginx and Chromium, inside a network namespace: scripts/in-netns.sh).
# Ends with the line "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

"$top/scripts/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }
if [[ ! -f tests/node_modules/.package-lock.json || tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
	(cd tests && npm ci --no-audit --no-fund --loglevel=error) || { echo "0 passed, 1 failed"; exit 1; }
fi

passed=0 failed=0
count() { # adds "$1" lines' numbers to the tallies: $2 is the passed pattern, $3 the failed ones
	local log=$1
	passed=$((passed + $(sed -nE "$2" "$log" | awk '{s+=$1} END {print s+0}')))
	failed=$((failed + $(sed -nE "$3" "$log" | awk '{s+=$1} END {print s+0}')))
}

echo "== unit tests (cmocka, AddressSanitizer)"
make -s check >/dev/null 2>&1
unit_log=tests/unit/unit_tests.log
if [[ -f $unit_log ]]; then
	grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]' "$unit_log" | grep -v ' OK ' || true
	count "$unit_log" 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' 's/^\[  (FAILED|ERROR)  \] ([0-9]+) test.*/\2/p'
	grep -q 'AddressSanitizer\|runtime error' "$unit_log" && { echo "sanitizer report in $unit_log"; failed=$((failed + 1)); }
else
	echo "unit tests did not build"; failed=$((failed + 1))
fi

echo "== JavaScript unit tests (node)"
js_log=$(mktemp)
node --test --test-reporter=tap tests/js/ >"$js_log" 2>&1
grep -E '^(not )?ok ' "$js_log" || true
count "$js_log" 's/^# pass ([0-9]+)$/\1/p' 's/^# (fail|cancelled) ([0-9]+)$/\2/p'
grep -q '^# pass' "$js_log" || { cat "$js_log"; failed=$((failed + 1)); }
rm -f "$js_log"

echo "== end-to-end tests (Janus + nginx + Chromium)"
e2e_log=$(mktemp)
"$top/scripts/in-netns.sh" node --test --test-concurrency=1 --test-reporter=tap tests/e2e/ 2>&1 | tee "$e2e_log" |
	grep -E '^(not )?ok ' || true
count "$e2e_log" 's/^# pass ([0-9]+)$/\1/p' 's/^# (fail|cancelled) ([0-9]+)$/\2/p'
grep -q '^# pass' "$e2e_log" || { echo "the end-to-end runner did not finish; log: $e2e_log"; failed=$((failed + 1)); }
grep -q '^not ok' "$e2e_log" && echo "failures in $e2e_log" || rm -f "$e2e_log"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# Runs every test: installs what is missing and builds (scripts/setup.sh), then the cmocka unit
# tests (make check, under AddressSanitizer), the libFuzzer harnesses (tests/fuzz, one result
# each, about 75 s with their builds), the JavaScript unit tests (tests/js), the end-to-end
# tests (node's test runner driving real Janus, nginx and Chromium, inside a network namespace:
# scripts/in-netns.sh) and, as root, the NAT lab (tests/lab: browsers behind symmetric NATs).
# Ends with the line "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

"$top/scripts/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }
# The tests' packages, and the benchmarks' (the report's smoke run in tests/lab uses them).
for dir in tests bench; do
	if [[ ! -f $dir/node_modules/.package-lock.json || $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "0 passed, 1 failed"; exit 1; }
	fi
done

passed=0 failed=0
count() { # adds "$1" lines' numbers to the tallies: $2 is the passed pattern, $3 the failed ones
	local log=$1
	passed=$((passed + $(sed -nE "$2" "$log" | awk '{s+=$1} END {print s+0}')))
	failed=$((failed + $(sed -nE "$3" "$log" | awk '{s+=$1} END {print s+0}')))
}

echo "== unit tests (cmocka, AddressSanitizer)"
make -s check >/dev/null 2>&1
unit_status=$?
unit_log=tests/unit/unit_tests.log
if [[ -f $unit_log ]]; then
	grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]' "$unit_log" | grep -v ' OK ' || true
	failed_before=$failed
	count "$unit_log" 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' 's/^\[  (FAILED|ERROR)  \] ([0-9]+) test.*/\2/p'
	grep -q 'AddressSanitizer\|runtime error' "$unit_log" && { echo "sanitizer report in $unit_log"; failed=$((failed + 1)); }
	# A failure the log does not show (the binary crashed, or lost its output) still fails.
	if ((unit_status != 0 && failed == failed_before)); then
		echo "make check failed without a failure in $unit_log"; failed=$((failed + 1))
	fi
else
	echo "unit tests did not build"; failed=$((failed + 1))
fi

echo "== fuzz (libFuzzer: media probe and remux, request parser, relay router, seed, manifest; ~75 s)"
if command -v clang >/dev/null; then
	# One result line per harness: "fuzz NAME: ok, ..." or "fuzz NAME: FAILED ...".
	fuzz_log=$(mktemp)
	tests/fuzz/run.sh 2>&1 | tee "$fuzz_log"
	count "$fuzz_log" 's/^fuzz [a-z]+: ok.*/1/p' 's/^fuzz [a-z]+: (FAILED|no such).*/1/p'
	grep -q '^fuzz [a-z]*: ' "$fuzz_log" || { echo "the fuzz run gave no result"; failed=$((failed + 1)); }
	rm -f "$fuzz_log"
else
	echo "fuzz skipped: clang is missing"
fi

# Runs node's test runner (the command after the title) and tallies its TAP summary.
node_tests() {
	local title=$1 log
	shift
	echo "== $title"
	log=$(mktemp)
	"$@" 2>&1 | tee "$log" | grep -E '^(not )?ok ' || true
	count "$log" 's/^# pass ([0-9]+)$/\1/p' 's/^# (fail|cancelled) ([0-9]+)$/\2/p'
	if ! grep -q '^# pass' "$log"; then
		echo "the test runner did not finish; log: $log"
		failed=$((failed + 1))
	elif grep -q '^not ok' "$log"; then
		echo "failures in $log"
	else
		rm -f "$log"
	fi
}

node_tests "JavaScript unit tests (node)" node --test --test-reporter=tap tests/js/
node_tests "end-to-end tests (Janus + nginx + Chromium)" \
	"$top/scripts/in-netns.sh" node --test --test-concurrency=1 --test-reporter=tap tests/e2e/
if [[ $(id -u) -eq 0 ]]; then
	node_tests "NAT lab (symmetric NATs, the relay)" node --test --test-concurrency=1 --test-reporter=tap tests/lab/
else
	echo "== NAT lab skipped: it needs root (network namespaces)"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# Builds tests/fuzz/fuzz_probe.c with clang (-fsanitize=fuzzer,address,undefined) and runs it for
# a bounded time over a seed corpus made of the media fixtures. Usage: run.sh [SECONDS] (45).
# Prints "fuzz: ok, N executions in S s" and exits 0, or shows the crash and exits 1.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-45}
work=$top/tests/fuzz
command -v clang >/dev/null || { echo "fuzz: clang is missing (apt-get install clang libclang-rt-14-dev)"; exit 1; }

fixtures=$top/tests/media/fixtures
[[ -d $fixtures ]] || "$top/tests/media/make-fixtures.sh" "$fixtures" >/dev/null
# shellcheck disable=SC2046 # pkg-config's flags are meant to split
clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$top/src" $(pkg-config --cflags libavformat libavcodec libavutil jansson) \
	"$work/fuzz_probe.c" "$top/src/sd_probe.c" "$top/src/sd_remux.c" "$top/src/sd_error.c" -o "$work/fuzz_probe" \
	$(pkg-config --libs libavformat libavcodec libavutil jansson)

# The seed corpus: every fixture (good and broken) and every input an earlier run caught
# (regressions/); libFuzzer adds what it finds to it.
mkdir -p "$work/corpus"
cp "$fixtures"/* "$work/regressions"/* "$work/corpus/"
log=$(mktemp)
if ASAN_OPTIONS=fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$work/lsan.supp "$work/fuzz_probe" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
	-print_final_stats=1 "$work/corpus" >"$log" 2>&1; then
	runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
	echo "fuzz: ok, ${runs:-?} executions in $seconds s"
	rm -f "$log"
else
	grep -E 'ERROR|SUMMARY|Test unit written|runtime error|#[0-9]+ ' "$log" | tail -20
	echo "fuzz: FAILED (full log: $log)"
	exit 1
fi

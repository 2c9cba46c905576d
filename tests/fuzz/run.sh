#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (-fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time over its seed corpus: probe (the media probe and remux, seeded
# with the media fixtures and seeds/probe), request (the request parser), relay (the relay's frame
# router), seed (the seed's handling of viewer frames) and manifest (the manifest parser and the
# sealed-manifest opener), each seeded with seeds/<name>. Usage: run.sh [SECONDS [NAME...]]:
# SECONDS (55) is shared out, the probe getting the largest part (its inputs are slow); NAMEs
# pick harnesses (all by default). Prints one line per harness, "fuzz NAME: ok, N executions in
# S s" or "fuzz NAME: FAILED" after the crash, and exits 1 if any failed.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$top/tests/fuzz
total=${1:-55}
shift $(($# > 0 ? 1 : 0))
names=("$@")
((${#names[@]})) || names=(probe request relay seed manifest)
command -v clang >/dev/null || { echo "fuzz: clang is missing (apt-get install clang libclang-rt-14-dev)"; exit 1; }

# What each harness is built from: its C file, the modules, their pkg-config packages; its share
# of the time (in parts of 13: the probe 5, the others 2) and its largest input.
core=$(sed -n '/^core_sources = /,/^$/p' "$top/Makefile.am" | grep -o 'src/[a-z_]*\.c') # the C core, as built
core_pkgs="glib-2.0 jansson libcrypto libloc"
declare -A modules=([probe]="src/sd_probe.c src/sd_remux.c src/sd_error.c" [request]=$core [relay]=$core [seed]=$core
	[manifest]=$core)
declare -A pkgs=([probe]="libavformat libavcodec libavutil jansson" [request]=$core_pkgs [relay]=$core_pkgs
	[seed]=$core_pkgs [manifest]=$core_pkgs)
declare -A parts=([probe]=5 [request]=2 [relay]=2 [seed]=2 [manifest]=2)
declare -A max_len=([probe]=65536 [request]=4096 [relay]=16384 [seed]=16384 [manifest]=16384)

fixtures=$top/tests/media/fixtures
[[ -d $fixtures ]] || "$top/tests/media/make-fixtures.sh" "$fixtures" >/dev/null
build=$work/build
mkdir -p "$build"
rm -f "$build/core.a"
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
	-I"$top/src")
build_core() {
	local objects=() file
	for file in $core; do
		# shellcheck disable=SC2046,SC2086
		clang "${cflags[@]}" $(pkg-config --cflags $core_pkgs) -c "$top/$file" -o "$build/$(basename "$file" .c).o" \
			2>>"$build/core.build.log" || return 1
		objects+=("$build/$(basename "$file" .c).o")
	done
	ar rcs "$build/core.a" "${objects[@]}"
}
failed=0
for name in "${names[@]}"; do
	[[ -n ${modules[$name]:-} ]] || { echo "fuzz $name: no such harness"; failed=1; continue; }
	seconds=$((total * parts[$name] / 13))
	((seconds > 0)) || seconds=1
	sources=()
	for module in ${modules[$name]}; do sources+=("$top/$module"); done
	# The core is compiled once for the harnesses that share it.
	if [[ ${modules[$name]} == "$core" ]]; then
		[[ -f $build/core.a ]] || build_core || { echo "fuzz $name: FAILED to build the core (log: $build/core.build.log)"; failed=1; continue; }
		sources=("$build/core.a")
	fi
	# shellcheck disable=SC2046,SC2086 # pkg-config's flags are meant to split
	if ! clang "${cflags[@]}" -fsanitize=fuzzer $(pkg-config --cflags ${pkgs[$name]}) "$work/fuzz_$name.c" "${sources[@]}" \
		-o "$build/fuzz_$name" $(pkg-config --libs ${pkgs[$name]}) 2>"$build/$name.build.log"; then
		tail -20 "$build/$name.build.log"
		echo "fuzz $name: FAILED to build (log: $build/$name.build.log)"
		failed=1
		continue
	fi
	# The working corpus (not committed): the seeds, what earlier runs found, and for the probe
	# every media fixture, good and broken.
	corpus=$work/corpus/$name
	mkdir -p "$corpus"
	cp "$work/seeds/$name"/* "$corpus/" 2>/dev/null
	[[ $name == probe ]] && cp "$fixtures"/* "$corpus/"
	log=$build/$name.log
	if (cd "$build" && ASAN_OPTIONS=fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$work/lsan.supp \
		"$build/fuzz_$name" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len="${max_len[$name]}" \
		-artifact_prefix="$build/$name-" -print_final_stats=1 "$corpus" >"$log" 2>&1); then
		runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
		echo "fuzz $name: ok, ${runs:-?} executions in $seconds s"
	else
		grep -E 'ERROR|SUMMARY|Test unit written|runtime error|#[0-9]+ ' "$log" | tail -20
		echo "fuzz $name: FAILED (full log: $log; add the input it wrote to tests/fuzz/seeds/$name/ once fixed)"
		failed=1
	fi
done
exit $failed

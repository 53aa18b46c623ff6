#!/usr/bin/env bash
# make fuzz-qemu: QEMU's own libFuzzer binary (scripts/build-qemu.sh --fuzz:
# clang-16, ASan + UBSan) on the device's generic-fuzz targets (patch 0011,
# tests/qtest/fuzz/generic_fuzz_configs.h), FUZZ_SECONDS each (default 300),
# one after another under nice. Corpora and crashes go to
# $BUILD/fuzz/qemu/<target>/ (never into the repo). Also the
# request-chain targets (virtio_vswap_fuzz.c in patch 0011). Prints each target's
# executions, exec/s and coverage; exits non-zero on a crash, leak or
# timeout. docs/security.md, "Fuzzing", has the results.
# --smoke (make check): build it and replay each target's committed seeds
# (tests/qemu/fuzz-corpus/<target>/) once, as TAP.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$repo/build}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
# FUZZ_RUNS=N: stop each target after N inputs instead (FUZZ_SECONDS stays
# the limit, and timeout(1) ends a target FUZZ_SECONDS + 120 s after start)
FUZZ_RUNS=${FUZZ_RUNS:-}
read -r -a targets <<<"${FUZZ_TARGETS:-generic-fuzz-virtio-vswap generic-fuzz-virtio-vswap-iothread generic-fuzz-virtio-vswap-tier virtio-vswap-requests virtio-vswap-requests-iothread virtio-vswap-requests-tier}"

smoke=0
args=()
for a in "$@"; do
	case $a in
	--smoke) smoke=1 ;;
	*) args+=("$a") ;;
	esac
done

if [ $smoke = 1 ]; then
	# make check: each target replays its committed seeds
	# (tests/qemu/fuzz-corpus/<target>/) once, as TAP: a build break or
	# a seed that crashes, leaks or hangs shows without a fuzzing run.
	# shellcheck source=../../tests/lib/tap.sh
	. "$repo/tests/lib/tap.sh"
	log=$BUILD/fuzz/qemu/smoke-build.log
	mkdir -p "$BUILD/fuzz/qemu"
	if ! command -v clang-16 >/dev/null 2>&1; then
		skip "QEMU fuzz targets" "clang-16 not installed (scripts/install-deps.sh fuzz)"
		tap_end
	fi
	if ! "$repo/scripts/build-qemu.sh" --fuzz "${args[@]}" >"$log" 2>&1; then
		not_ok "build QEMU's fuzz binary (scripts/build-qemu.sh --fuzz)" "$log"
		tap_end
	fi
	ok "build QEMU's fuzz binary (clang-16, ASan + UBSan)"
fi

[ $smoke = 1 ] || "$repo/scripts/build-qemu.sh" --fuzz "${args[@]}" || exit 2
bin=$BUILD/qemu-fuzz/qemu-fuzz-x86_64
sym=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1${sym:+:external_symbolizer_path=$sym}}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0

# shellcheck source=../../tests/lib/fuzz_history.sh
. "$repo/tests/lib/fuzz_history.sh"

if [ $smoke = 1 ]; then
	for t in "${targets[@]}"; do
		seeds=$repo/tests/qemu/fuzz-corpus/$t
		n=$(find "$seeds" -type f 2>/dev/null | wc -l)
		if [ "$n" -eq 0 ]; then
			not_ok "$t: no committed seeds in tests/qemu/fuzz-corpus/$t"
			continue
		fi
		out=$(mktemp -d)
		tlog=$BUILD/fuzz/qemu/smoke-$t.log
		t0=$SECONDS
		# -runs=0: run the seeds once, mutate nothing; an empty first
		# directory takes anything libFuzzer would write
		timeout -k 10 600 nice -n 10 "$bin" --fuzz-target="$t" -runs=0 \
			-rss_limit_mb=4096 "$out" "$seeds" >"$tlog" 2>&1
		check_rc $? "$t: $n committed seeds replayed ($((SECONDS - t0)) s)" "$tlog" || rc=1
		rm -rf "$out"
	done
	tap_end
fi
for t in "${targets[@]}"; do
	d=$BUILD/fuzz/qemu/$t
	mkdir -p "$d/corpus" "$d/crashes"
	seed_dirs=()
	[ -d "$repo/tests/qemu/fuzz-corpus/$t" ] &&
		seed_dirs=("$repo/tests/qemu/fuzz-corpus/$t")
	echo "=== $t: $FUZZ_SECONDS s${FUZZ_RUNS:+ or $FUZZ_RUNS inputs}"
	# QEMU blocks SIGALRM (its main loop takes it through a signalfd),
	# so libFuzzer's -timeout never fires in this binary: a hung input
	# (a deadlock in the device) would hang the run. timeout(1) ends it
	# and the run counts as failed.
	timeout -k 10 $((FUZZ_SECONDS + 120)) \
	nice -n 10 "$bin" --fuzz-target="$t" -max_total_time="$FUZZ_SECONDS" \
		-timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
		${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
		-artifact_prefix="$d/crashes/" "$d/corpus" \
		"${seed_dirs[@]}" \
		> "$d/log" 2>&1
	r=$?
	[ $r -eq 124 ] || [ $r -eq 137 ] &&
		echo "$t: HUNG (no progress; the input is not saved: rerun under gdb)"
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)' "$d/log"
	grep -E '#[0-9]+[[:space:]]+(DONE|pulse).*cov' "$d/log" | tail -1
	fuzz_history "$d" "$r" \
		"$(fuzz_stat number_of_executed_units "$d/log")" \
		"$(fuzz_stat average_exec_per_sec "$d/log")" \
		"$(grep -aEo 'cov: [0-9]+ ft: [0-9]+' "$d/log" | tail -n 1)"
	if [ $r -ne 0 ] && [ $r -ne 72 ]; then
		echo "$t: FAILED (rc $r), see $d/log and $d/crashes/"
		grep -E 'ERROR|SUMMARY|==[0-9]+==' "$d/log" | head -5
		rc=1
	fi
done
exit $rc

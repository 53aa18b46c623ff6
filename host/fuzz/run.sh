#!/usr/bin/env bash
# Build and run libvswap's libFuzzer harnesses (host/fuzz/fuzz_*.c).
#
#   fuzz/run.sh            make fuzz: each target for FUZZ_SECONDS (60) on
#                          corpus/<target>/ and regress/<target>/; new inputs
#                          go to $BUILD/fuzz/<target>/corpus, crashes to
#                          $BUILD/fuzz/<target>/crashes (never into the
#                          repo). Prints exec/s, executions and final
#                          coverage per target; exits non-zero on any
#                          crash, leak or timeout.
#   fuzz/run.sh --smoke    make fuzz-smoke: each target replays its committed
#                          corpus and regression inputs once (seconds), as
#                          TAP (tests/lib/tap.sh); no clang-16 or libFuzzer
#                          runtime: one skip that says so.
# One target after another, under nice (the machine is shared).
# Environment: BUILD (../build), FUZZ_SECONDS, FUZZ_CC (clang-16), FUZZ_JOBS
# (make -j for the build, 2), FUZZ_TARGETS (names, default all),
# FUZZ_RUNS (stop each target after that many inputs; FUZZ_SECONDS still
# bounds it), FUZZ_FORK (N: libFuzzer's fork mode, N worker processes
# sharing one corpus; FUZZ_RUNS then counts the inputs of all of them),
# FUZZ_INSTANCE (a name: a second run of the same target beside the first,
# on the same corpus, with its own log <target>.<name>.log; libFuzzer
# reloads the corpus, so each picks up the other's finds, and both append
# to the target's history: faster than FUZZ_FORK for fuzz_ops, whose fork
# jobs replay the corpus each time).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
host=$(dirname "$here")
repo=$(dirname "$host")
# shellcheck source=../../tests/lib/tap.sh
. "$repo/tests/lib/tap.sh"

BUILD=${BUILD:-$repo/build}
FUZZ_CC=${FUZZ_CC:-clang-16}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
smoke=0
[ "${1:-}" = --smoke ] && smoke=1
out=$BUILD/fuzz
bin=$BUILD/host-fuzz
mkdir -p "$out"

# Inputs are small by design: a config header and a few hundred bytes of
# operations (fuzz_ops) or patches (fuzz_tier_load).
declare -A max_len=([fuzz_ops]=1024 [fuzz_tier_load]=512 [fuzz_import]=16384)
targets=()
for f in "$here"/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
[ -n "${FUZZ_TARGETS:-}" ] && read -r -a targets <<<"$FUZZ_TARGETS"
FUZZ_RUNS=${FUZZ_RUNS:-}

# shellcheck source=../../tests/lib/fuzz_history.sh
. "$repo/tests/lib/fuzz_history.sh"

# The symbolizer of any LLVM makes the reports readable.
sym=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1${sym:+:external_symbolizer_path=$sym}}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Can FUZZ_CC link a libFuzzer program with ASan + UBSan?
probe=$out/probe
if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
	why="$FUZZ_CC not found (apt-get install clang-16 libfuzzer-16-dev libclang-rt-16-dev)"
elif ! printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }\n' |
	"$FUZZ_CC" -x c -fsanitize=fuzzer,address,undefined -o "$probe" - \
		>"$probe.log" 2>&1; then
	why="$FUZZ_CC cannot link -fsanitize=fuzzer,address,undefined (libclang-rt-16-dev missing?): $(tail -n 1 "$probe.log")"
else
	why=
fi
if [ -n "$why" ]; then
	if [ $smoke = 1 ]; then
		skip "libFuzzer harnesses" "$why"
		tap_end
	fi
	echo "fuzz: $why" >&2
	exit 1
fi

log=$out/build.log
if nice -n 10 make -s -C "$host" -j"${FUZZ_JOBS:-2}" BUILD="$BUILD" \
	FUZZ_CC="$FUZZ_CC" fuzz-build >"$log" 2>&1; then
	[ $smoke = 1 ] && ok "build ${targets[*]} ($FUZZ_CC, ASan + UBSan)"
else
	if [ $smoke = 1 ]; then
		not_ok "build ${targets[*]} ($FUZZ_CC, ASan + UBSan)" "$log"
		tap_end
	fi
	cat "$log" >&2
	exit 1
fi

rc=0
for t in "${targets[@]}"; do
	seeds=$here/corpus/$t regress=$here/regress/$t
	dirs=()
	[ -d "$seeds" ] && dirs+=("$seeds")
	[ -d "$regress" ] && dirs+=("$regress")
	tlog=$out/$t${FUZZ_INSTANCE:+.$FUZZ_INSTANCE}.log
	if [ $smoke = 1 ]; then
		# Each committed file once (libFuzzer runs file arguments and
		# exits); a crash, leak or sanitizer report fails it.
		files=()
		for d in "${dirs[@]}"; do
			for f in "$d"/*; do [ -f "$f" ] && files+=("$f"); done
		done
		if [ ${#files[@]} -eq 0 ]; then
			not_ok "$t: no committed inputs in corpus/$t or regress/$t"
			continue
		fi
		t0=$SECONDS
		nice -n 10 "$bin/$t" -timeout=20 "${files[@]}" >"$tlog" 2>&1
		check_rc $? "$t: ${#files[@]} committed inputs replayed ($((SECONDS - t0)) s)" "$tlog" || rc=1
		continue
	fi
	mkdir -p "$out/$t/corpus" "$out/$t/crashes"
	echo "=== $t: ${FUZZ_SECONDS} s, -max_len=${max_len[$t]:-1024}, seeds ${dirs[*]}"
	nice -n 10 "$bin/$t" -max_total_time="$FUZZ_SECONDS" \
		${FUZZ_RUNS:+-runs=$FUZZ_RUNS} ${FUZZ_FORK:+-fork=$FUZZ_FORK} \
		-max_len="${max_len[$t]:-1024}" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/$t/crashes/" \
		"$out/$t/corpus" "${dirs[@]}" >"$tlog" 2>&1
	r=$?
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$tlog" | tail -n 1)
	execs=$(fuzz_stat number_of_executed_units "$tlog")
	rate=$(fuzz_stat average_exec_per_sec "$tlog")
	if [ -z "$execs" ]; then
		# fork mode: no final stats, the last "#N: cov: ... exec/s: E"
		last=$(grep -E '^#[0-9]+: cov:' "$tlog" | tail -n 1)
		execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
		rate=$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$last")
	fi
	printf '%s: %s execs, %s exec/s, %s, corpus %s new units, log %s\n' \
		"$t" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" \
		"$(fuzz_stat new_units_added "$tlog")" "$tlog"
	fuzz_history "$out/$t" "$r" "${execs:-0}" "${rate:-?}" "${cov:-cov: ?}"
	[ $r -eq 72 ] && echo "$t: stopped (SIGINT), no finding"
	if [ $r -ne 0 ] && [ $r -ne 72 ]; then
		echo "$t: FAILED (libFuzzer exit $r): crash, leak or timeout;" \
		     "input in $out/$t/crashes/" >&2
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: )' "$tlog" | head -n 5 >&2
		rc=1
	fi
done
[ $smoke = 1 ] && tap_end
exit $rc

#!/usr/bin/env bash
# Run test suites and print one summary line a CI runner understands.
#
# Every suite is a command that prints TAP lines ("ok N - what",
# "not ok N - what", "ok N - what # SKIP why"). A suite that exits non-zero
# without reporting a failure counts as one failure, so a crash is never a pass.
#
# Usage: tests/run.sh [suite...]   (default: every suite in SUITES)
#        tests/run.sh --quick        the fast tier (QUICK): no VM, no QEMU
#                                    build (make check-quick)
# tests/README.md says what each suite proves and how long it takes.
set -uo pipefail
cd "$(dirname "$0")/.."

# name|command -- in the order they run; cheap ones first.
SUITES=(
	"abi|make -s -C tests/abi check"
	"host|make -s -j$(nproc) -C host check"
	"vswapctl|tests/vswapctl/run.sh"
	"series|scripts/qemu/check-series.py"
	"host-asan|make -s -j$(nproc) -C host check-asan"
	"arm64|make -s -C host check-arm64"
	"fuzz-smoke|make -s -C host fuzz-smoke"
	"qemu|tests/qemu/run.sh"
	"fuzz-qemu-smoke|scripts/qemu/fuzz.sh --smoke --no-deps"
	"vswapctl-qemu|tests/vswapctl/run.sh --qemu"
	"guest|tests/guest/e2e.sh --short"
	"numa|tests/numa/run.sh"
)
# The fast tier: seconds, no VM, no QEMU source or build.
QUICK=(abi host vswapctl series)
# Run only when named (slow: an ASan build of QEMU takes ~25 min cold).
OPTIONAL_SUITES=(
	"qemu-asan|tests/qemu/run.sh --asan"
)

want=("$@")
[ "${1:-}" = --quick ] && want=("${QUICK[@]}")
logdir=build/test-logs
mkdir -p "$logdir"
passed=0 failed=0 skipped=0 failed_names=()

candidates=("${SUITES[@]}")
[ ${#want[@]} -gt 0 ] && candidates+=("${OPTIONAL_SUITES[@]}")
for w in "${want[@]}"; do
	printf '%s\n' "${candidates[@]}" | grep -q "^$w|" ||
		{ echo "tests/run.sh: no suite named '$w'" >&2; exit 2; }
done

for entry in "${candidates[@]}"; do
	name=${entry%%|*} cmd=${entry#*|}
	if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then
		continue
	fi
	echo "=== suite $name: $cmd"
	log=$logdir/$name.log
	t0=$SECONDS
	bash -c "$cmd" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -Ec '^[[:space:]]*ok [0-9]+' "$log" | head -1)
	s=$(grep -Eic '^[[:space:]]*ok [0-9]+.*# *skip' "$log" | head -1)
	f=$(grep -Ec '^[[:space:]]*not ok [0-9]+' "$log" | head -1)
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - suite $name exited with status $rc"
		f=1
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - suite $name reported no tests"
		f=1
	fi
	[ "$f" -gt 0 ] && failed_names+=("$name")
	echo "=== suite $name: $p passed, $f failed, $s skipped (rc=$rc, $((SECONDS - t0)) s)"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

[ ${#failed_names[@]} -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

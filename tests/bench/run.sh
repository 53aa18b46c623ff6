#!/usr/bin/env bash
# `make bench-guest`: virtio-vswap against guest zram, guest zswap and swap
# on virtio-blk, and no swap, in one run (docs/benchmarks.md, "Guest
# benchmark"). Builds what it needs, runs every configuration as a fresh
# guest on one plugin-enabled QEMU, writes $BUILD/bench/guest.json,
# guest.md (tables and targets) and guest.png, and exits non-zero when a
# target is missed (everything is written all the same).
#
#   tests/bench/run.sh [guest_bench.py options]
#     --configs "vswap zram"  --sizes "2"  --workloads e2e
#     --vswap-props ioeventfd=off  --vswap-modparams synchronous=0
#     --mem 128  --seed 0x5eed5eed
# Environment (what the make variables set):
#   BENCH_CONFIGS BENCH_SIZES BENCH_WORKLOADS BENCH_MEM BENCH_VSWAP_PROPS
#   BENCH_VSWAP_MODPARAMS; BENCH_QUICK=1: the short variant (sizes 0.75 2,
#   the e2e workload and the configurations the targets need);
#   BENCH_CORPUS_MIB (4): MiB of real pages per source process;
#   BENCH_REPORT_ONLY=1: redo the report from an existing guest.json;
#   BENCH_PROFILE=1: count instructions per guest code address
#   (tbprof.c) and write guest-profile.txt, instructions per swapped page
#   by guest function over the no-swap run (tbprof.py); the e2e workload
#   at 0.75x (where guest zram completes in a 128 MiB guest), vswap
#   blk-none zram noswap unless set.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
here=$REPO/tests/bench
out=$BUILD/bench
mkdir -p "$out/bin"
t0=$(date +%s)

args=()
quick=${BENCH_QUICK:-0}
[ "$quick" = 1 ] && args+=(--sizes "0.75 2" --workloads e2e
	--configs "vswap zram blk-none noswap")
profile=${BENCH_PROFILE:-0}
[ "$profile" = 1 ] && args+=(--sizes 0.75 --workloads e2e
	--configs "vswap blk-none zram noswap")
[ -n "${BENCH_CONFIGS:-}" ] && args+=(--configs "$BENCH_CONFIGS")
[ -n "${BENCH_SIZES:-}" ] && args+=(--sizes "$BENCH_SIZES")
[ -n "${BENCH_WORKLOADS:-}" ] && args+=(--workloads "$BENCH_WORKLOADS")
[ -n "${BENCH_MEM:-}" ] && args+=(--mem "$BENCH_MEM")
[ -n "${BENCH_VSWAP_PROPS:-}" ] && args+=(--vswap-props "$BENCH_VSWAP_PROPS")
[ -n "${BENCH_VSWAP_MODPARAMS:-}" ] &&
	args+=(--vswap-modparams "$BENCH_VSWAP_MODPARAMS")
args+=("$@")

report() {
	"$PY" "$here/report.py" "$out/guest.json" --md "$out/guest.md" \
		--dat "$out/guest.dat" --plot "$out/guest.png" --gp "$here/guest.gp"
}
if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
	report
	exit
fi

log "dependencies, the plugin-enabled QEMU, the generic 6.12 guest"
"$REPO/scripts/install-deps.sh" host qemu guest >"$out/deps.log" 2>&1 ||
	{ tail -20 "$out/deps.log"; die "install-deps failed"; }
"$REPO/scripts/build-qemu.sh" --plugins --no-deps
qemu=$BUILD/qemu-plugins/qemu-system-x86_64
plugin=$BUILD/qemu-plugins/libinsn.so

gcc -O2 -Wall -Wextra -I"$REPO/host/bench" -o "$out/bin/mkcorpus" \
	"$here/mkcorpus.c"
gcc -O2 -Wall -Wextra -I"$TESTLIB/guest" -o "$out/bin/rawlz4" \
	"$here/rawlz4.c" -llz4

# The real-memory corpus: made once per build tree and kept, so that runs
# compared later (A/B) see the same pages; delete it for a new one.
corpus=$out/corpus.bin
if [ ! -s "$corpus" ]; then
	log "corpus: ${BENCH_CORPUS_MIB:-4} MiB from python and from cc1"
	"$out/bin/mkcorpus" "$corpus.tmp" "$REPO/host/bench/workload.py" \
		"$out/corpus-work" "${BENCH_CORPUS_MIB:-4}" >"$out/corpus.txt"
	mv "$corpus.tmp" "$corpus"
fi
cat "$out/corpus.txt"
image=$("$TESTLIB/guest/image.sh" 6.12-generic "$corpus")
. "$image"

# The argument values guest_bench.py will use, for rawlz4 and the record.
opt() {		# option default: its last value in args
	local v=$2 i
	for ((i = 0; i < ${#args[@]}; i++)); do
		[ "${args[$i]}" = "$1" ] && v=${args[$((i + 1))]}
	done
	echo "$v"
}
mem=$(opt --mem 128)
seed=$(opt --seed 0x5eed5eed)
log "raw lz4 on the workloads' pages (${mem} MiB each)"
{
	echo "{\"e2e\": $("$out/bin/rawlz4" -m "$mem" -s "$seed"),"
	echo " \"corpus\": $("$out/bin/rawlz4" -m "$mem" -s "$seed" -c "$corpus")}"
} >"$out/raw-lz4.json"
cat "$out/raw-lz4.json"

"$PY" - "$out/meta.json" "$KVER" "$(cat "$BUILD/qemu-plugins/VERSION")" \
	"$out/corpus.txt" <<'EOF'
import json, sys, subprocess
out, kver, qver, corpus = sys.argv[1:]
rev = subprocess.run(["git", "describe", "--always", "--dirty"],
                     capture_output=True, text=True).stdout.strip()
json.dump({"kernel": kver, "qemu": qver, "tree": rev,
           "corpus": open(corpus).read(), "cpus": __import__("os").cpu_count()},
          open(out, "w"))
EOF
rc=0
if [ "$profile" = 1 ]; then		# leaves guest.json and guest-runs/ alone
	runs=$out/profile-runs
	rm -rf "$runs"
	"$PY" "$here/guest_bench.py" --qemu "$qemu" --plugin "$plugin" \
		--profile "$BUILD/qemu-plugins/libtbprof.so" \
		--kernel "$VMLINUZ" --initrd "$INITRD" --workdir "$runs" \
		--out "$out/guest-profile.json" "${args[@]}" || rc=$?
	cfgs=$(opt --configs "")
	"$PY" "$here/tbprof.py" --json "$out/guest-profile.json" \
		--runs "$runs" --ko "$KO" --base noswap --groups \
		${cfgs//noswap/} >"$out/guest-profile.txt" || rc=$?
	cat "$out/guest-profile.txt"
	exit $rc
fi
rm -rf "$out/guest-runs"
"$PY" "$here/guest_bench.py" --qemu "$qemu" --plugin "$plugin" \
	--kernel "$VMLINUZ" --initrd "$INITRD" --workdir "$out/guest-runs" \
	--out "$out/guest.json" --raw-lz4 "$out/raw-lz4.json" \
	--meta "$out/meta.json" "${args[@]}" || rc=$?
report || rc=$((rc ? rc : $?))
log "bench-guest took $(( $(date +%s) - t0 )) s"
exit $rc

#!/usr/bin/env bash
# Multi-node NUMA test of libvswap in a guest (TCG): three guest NUMA nodes
# (0 and 1 with a CPU each and memory, 2 memory-only and small, like a CXL
# expander), a busybox initramfs holding a static test program linked
# against libvswap.a, TAP collected from the serial console.
#
# Usage: tests/numa/run.sh            (prints TAP; exit status 0 = all ok)
# Env:   QEMU     QEMU 10 binary (default build/qemu/qemu-system-x86_64;
#                 the vswap device is not needed)
#        TIMEOUT  seconds before the VM is killed (default 600)
# Needs: the Debian 6.12 cloud kernel (tests/lib/guest/fetch-kernels.sh
#        6.12), busybox-static, and the static archives of liblz4-dev,
#        libzstd-dev, libnuma-dev (scripts/install-deps.sh).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"	# REPO, BUILD, CACHE, QEMU, log, die

TIMEOUT=${TIMEOUT:-600}
out=$BUILD/numa
mkdir -p "$out"

[ -x "$QEMU" ] || die "no QEMU at $QEMU (make qemu, or set QEMU=)"
env=$(kernel_dir 6.12)/env
[ -f "$env" ] || "$TESTLIB/guest/fetch-kernels.sh" 6.12 >&2
. "$env"
[ -f "$VMLINUZ" ] || die "no 6.12 kernel in the cache"
for a in liblz4 libzstd libnuma; do
	f=$(gcc -print-file-name=$a.a)
	[ -f "$f" ] || die "$a.a missing (install ${a}-dev)"
done

log "building libvswap and the static test program"
make -s -C "$REPO/host" BUILD="$BUILD" lib >&2
gcc -std=gnu11 -O2 -Wall -Wextra -static -pthread \
	-I"$REPO/host/include" -I"$REPO/host/src" -I"$REPO/host/tests" \
	-I"$REPO/include" \
	-o "$out/numa_guest" "$REPO/tests/numa/numa_guest.c" \
	"$BUILD/host/libvswap.a" -llz4 -lzstd -lnuma -lm

"$TESTLIB/guest/mkinitramfs.sh" "$out/initramfs.gz" "$REPO/tests/numa/init.sh" \
	"$out/numa_guest"

# 512 MiB: node 0 320 MiB (kernel, initramfs), node 1 128 MiB, node 2
# 64 MiB without CPUs. Distances as a two-socket host with a far tier.
console=$out/console.log
log "booting ($QEMU, TCG, 3 NUMA nodes, deadline ${TIMEOUT}s)"
rc=0
timeout --foreground -k 10 $((TIMEOUT + 60)) \
"$PY" "$TESTLIB/vm.py" --qemu "$QEMU" --kernel "$VMLINUZ" \
	--initrd "$out/initramfs.gz" --workdir "$out" --mem 512M --smp 2 \
	--append loglevel=3 --timeout "$TIMEOUT" --until 'NUMA: DONE' -- \
	-object memory-backend-ram,id=m0,size=320M \
	-object memory-backend-ram,id=m1,size=128M \
	-object memory-backend-ram,id=m2,size=64M \
	-numa node,nodeid=0,cpus=0,memdev=m0 \
	-numa node,nodeid=1,cpus=1,memdev=m1 \
	-numa node,nodeid=2,memdev=m2 \
	-numa dist,src=0,dst=1,val=21 -numa dist,src=0,dst=2,val=30 \
	-numa dist,src=1,dst=2,val=30 \
	> "$out/vm.log" 2>&1 || rc=$?

# TAP: the program's lines, prefix removed, CRs of the serial line gone.
set +e
. "$TESTLIB/tap.sh"
tap_pipe sed -n 's/\r$//; s/^.*NUMA: //p' "$console"
check "the guest ran numa_guest to the end (NUMA: DONE; vm.py exit $rc)" \
	grep -q 'NUMA: DONE' "$console"
# A program that died before its summary (crash, OOM kill) is a failure.
check "numa_guest printed its summary" \
	grep -Eq '^NUMA: [0-9]+ passed, [0-9]+ failed' <(tr -d '\r' < "$console")
tap_end

#!/usr/bin/env bash
# The test guest the suites boot: the Debian 6.12 cloud kernel
# (fetch-kernels.sh, cached), virtio_vswap.ko built for it from
# guest-driver/, and an initramfs holding init.sh as /init, the static
# programs workload and blkpages, the module, and the kernel's own zram and
# virtio_blk modules (peer runs).
#
#   image.sh      prints the path of a shell file setting KVER, VMLINUZ,
#                 INITRD and KO (the module), for `. "$(image.sh)"`
#   image.sh 6.12-generic [FILE...]
#                 the same on Debian's generic 6.12 kernel (it has zswap;
#                 its lz4 module goes in too, for zswap's compressor), with
#                 FILEs in the initramfs's /data (bench-guest's corpus)
#   image.sh 6.1  the same on Debian 12's own 6.1 cloud kernel (the
#                 driver's compat paths)
#
# Everything goes under $BUILD/guest-image/ ($BUILD/guest-image-SERIES/)
# and is rebuilt only when an input changed (the kernel version,
# guest-driver/, the ABI header, the files here, the data files); one build
# at a time. Build output: $BUILD/guest-image*/build.log.
set -euo pipefail
. "$(dirname "$0")/../common.sh"

series=${1:-6.12}
[ $# -gt 0 ] && shift
data=("$@")
# mq-deadline: e2e's options scenario switches elevators (queue freezes)
mkopts=(-m zram -m virtio_blk -m mq-deadline)
for f in "${data[@]}"; do mkopts+=(-d "$f"); done
img=$BUILD/guest-image
case $series in
6.12) [ ${#data[@]} = 0 ] || die "data files only with 6.12-generic" ;;
6.12-generic) img=$BUILD/guest-image-$series; mkopts+=(-m lz4) ;;
6.1) img=$BUILD/guest-image-$series; mkopts+=(-m virtio_pci)
	[ ${#data[@]} = 0 ] || die "data files only with 6.12-generic" ;;
*) die "unknown kernel series $series" ;;
esac
mkdir -p "$img"
exec 9>"$img/lock"
flock 9

envk=$(kernel_dir "$series")/env
if [ ! -f "$envk" ]; then
	"$TESTLIB/guest/fetch-kernels.sh" "$series" >"$img/fetch.log" 2>&1 || {
		tail -20 "$img/fetch.log" >&2; die "no $series guest kernel"; }
fi
. "$envk"

key=$( (echo "$KVER"; cd "$REPO" && cat guest-driver/Makefile guest-driver/*.[ch] \
	include/linux/virtio_vswap.h tests/lib/common.sh tests/lib/guest/*;
	for f in "${data[@]}"; do echo "$f"; cat "$f"; done) |
	sha256sum | cut -c1-16)
if [ "$(cat "$img/key" 2>/dev/null)" != "$key" ]; then
	log "building the test guest image ($KVER, key $key)"
	rm -f "$img/key"
	if ! {
		rm -rf "$img/mod" &&
		make -C "$REPO/guest-driver" KDIR="$KDIR" OUT="$img/mod" &&
		mkdir -p "$img/bin" &&
		for p in workload blkpages; do
			gcc -O2 -Wall -Wextra -static -o "$img/bin/$p" \
				"$TESTLIB/guest/$p.c" || exit 1
		done &&
		"$TESTLIB/guest/mkinitramfs.sh" -k "$series" "${mkopts[@]}" \
			-o "$img/mod/virtio_vswap.ko" "$img/initramfs.cpio.gz" \
			"$TESTLIB/guest/init.sh" "$img/bin/workload" "$img/bin/blkpages"
	} >"$img/build.log" 2>&1; then
		tail -30 "$img/build.log" >&2
		die "test guest image: build failed (see $img/build.log)"
	fi
	cat >"$img/env" <<EOT
KVER=$KVER
VMLINUZ=$VMLINUZ
INITRD=$img/initramfs.cpio.gz
KO=$img/mod/virtio_vswap.ko
EOT
	echo "$key" >"$img/key"
fi
echo "$img/env"

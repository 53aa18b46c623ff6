#!/usr/bin/env bash
# Build the guest initramfs: busybox-static, /init (tests/guest/init.sh),
# the virtio_vswap module built for the kernel, the kernel's own zram and
# virtio_blk modules with their dependencies (peer runs), and the static
# workload. Usage: mkinitramfs.sh <series> <module.ko> <out.cpio.gz>
set -euo pipefail
. "$(dirname "$0")/lib.sh"

series=$1 ko=$2 out=$3
. "$(kernel_dir "$series")/env"
[ -d "$MODDIR" ] || die "no modules for $KVER (run fetch-kernels.sh $series)"

root=$(mktemp -d "$GBUILD/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}

cp /bin/busybox "$root/bin/busybox"
file -L "$root/bin/busybox" 2>/dev/null | grep -q 'statically linked' ||
	ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' ||
	die "/bin/busybox is not static (install busybox-static)"
install -m 755 "$REPO/tests/guest/init.sh" "$root/init"

gcc -O2 -Wall -Wextra -static -o "$root/bin/workload" \
	"$REPO/tests/guest/workload.c"

cp "$ko" "$root/lib/modules/virtio_vswap.ko"

# A kernel module and, first, what it depends on, uncompressed, in the order
# they must be loaded; the order is written to /lib/modules/<name>.order.
declare -A seen=()
add_mod() {		# name -> appends load order to $order
	local name=$1 f dep
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	f=$(find "$MODDIR/kernel" -name "$name.ko*" | head -1)
	[ -n "$f" ] || die "module $name not found for $KVER"
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_mod "$dep"
	done
	case $f in
	*.xz) xz -dc "$f" > "$root/lib/modules/$name.ko" ;;
	*) cp "$f" "$root/lib/modules/$name.ko" ;;
	esac
	order+="$name "
}
for m in zram virtio_blk; do
	order=""
	add_mod $m
	echo "$order" > "$root/lib/modules/$m.order"
done

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
log "initramfs $out ($(du -h "$out" | cut -f1))"

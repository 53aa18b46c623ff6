#!/usr/bin/env bash
# Build a test guest's initramfs: busybox-static, an /init script, static
# programs in /bin, kernel modules in /lib/modules.
#
#   mkinitramfs.sh [-k SERIES -m NAME...] [-o KO...] [-d FILE...] OUT.cpio.gz
#                  INIT [PROG...]
#
#   -k SERIES  the kernel (fetch-kernels.sh) whose modules -m names
#   -m NAME    one of its modules, uncompressed, with every module it
#              depends on; the load order is written to
#              /lib/modules/NAME.order (init.sh's load_mods reads it)
#   -o KO      a module built out of tree, copied to /lib/modules/
#   -d FILE    a data file, copied to /data/
#   INIT       becomes /init
#   PROG       static programs, copied to /bin/
set -euo pipefail
. "$(dirname "$0")/../common.sh"

series="" mods=() kos=() data=()
usage="usage: $0 [-k SERIES -m NAME...] [-o KO...] [-d FILE...] OUT INIT [PROG...]"
while getopts k:m:o:d: opt; do
	case $opt in
	k) series=$OPTARG ;;
	m) mods+=("$OPTARG") ;;
	o) kos+=("$OPTARG") ;;
	d) data+=("$OPTARG") ;;
	*) die "$usage" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || die "$usage"
out=$1 init=$2
shift 2

mkdir -p "$(dirname "$out")"
root=$(mktemp -d "$(dirname "$out")/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,data,dev,proc,sys,tmp,lib/modules}

cp /bin/busybox "$root/bin/busybox"
file -L "$root/bin/busybox" 2>/dev/null | grep -q 'statically linked' ||
	ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' ||
	die "/bin/busybox is not static (install busybox-static)"
install -m 755 "$init" "$root/init"
for p in "$@"; do
	install -m 755 "$p" "$root/bin/"
done
for ko in "${kos[@]}"; do
	cp "$ko" "$root/lib/modules/"
done
for f in "${data[@]}"; do
	cp "$f" "$root/data/"
done

# A kernel module and, first, what it depends on, uncompressed, in the
# order they must be loaded. Each -m NAME gets its whole order, also the
# modules an earlier NAME already brought in (zram and lz4 share
# lz4_compress).
declare -A copied=() inorder=()
add_mod() {		# name -> appends load order to $order
	local name=$1 f dep
	[ -n "${inorder[$name]:-}" ] && return 0
	inorder[$name]=1
	f=$(find "$MODDIR/kernel" -name "$name.ko*" | head -1)
	# built into this kernel (modules.builtin): nothing to load
	if [ -z "$f" ] && grep -q "/$name\.ko\$" "$MODDIR/modules.builtin" \
			2>/dev/null; then
		return 0
	fi
	[ -n "$f" ] || die "module $name not found for $KVER"
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_mod "$dep"
	done
	if [ -z "${copied[$name]:-}" ]; then
		case $f in
		*.xz) xz -dc "$f" > "$root/lib/modules/$name.ko" ;;
		*) cp "$f" "$root/lib/modules/$name.ko" ;;
		esac
		copied[$name]=1
	fi
	order+="$name "
}
if [ ${#mods[@]} -gt 0 ]; then
	[ -n "$series" ] || die "-m needs -k SERIES"
	. "$(kernel_dir "$series")/env"
	[ -d "$MODDIR" ] || die "no modules for $KVER (run fetch-kernels.sh $series)"
	for m in "${mods[@]}"; do
		order=""
		inorder=()
		add_mod "$m"
		echo "$order" > "$root/lib/modules/$m.order"
	done
fi

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
log "initramfs $out ($(du -h "$out" | cut -f1))"

#!/usr/bin/env bash
# Check that QEMU builds after every patch of qemu-patches/, in order, and
# that checkpatch.pl finds no error in any of them.
#
#   scripts/qemu/verify-series.sh [FIRST [LAST]]   (patch numbers, 1-based)
#
# Needs the cache that scripts/build-qemu.sh made (the unpacked source and
# the staged libvswap). Works in its own worktree and build directory
# ($CACHE/qemu-<ver>/verify, build-verify) and builds incrementally from one
# patch to the next, so the main build is left alone. Takes the same lock
# as build-qemu.sh: never two QEMU builds at once. Prints TAP.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}
JOBS=${JOBS:-2}
BUILD=${BUILD:-$repo/build}

top=$(ls -d "$CACHE"/qemu-*/ 2>/dev/null | head -1)
top=${top%/}
src=$top/src
[ -d "$src/.git" ] || { echo "Bail out! run scripts/build-qemu.sh first"; exit 1; }
exec 9>"$CACHE/lock"
flock 9

mapfile -t patches < <(grep -v '^#' "$repo/qemu-patches/series" | grep .)
first=${1:-1} last=${2:-${#patches[@]}}
wt=$top/verify bdir=$top/build-verify
if [ ! -d "$wt" ]; then
	git -C "$src" worktree prune
	git -C "$src" worktree add -q --detach "$wt" debian-base
fi
git -C "$wt" am --abort >/dev/null 2>&1 || true
git -C "$wt" -c advice.detachedHead=false checkout -q -f --detach debian-base
git -C "$wt" clean -q -f -d -x
G=(git -c user.name=virtio-vswap -c user.email=virtio-vswap@localhost -C "$wt")

n=0 fails=0
for i in "${!patches[@]}"; do
	num=$((i + 1)) p=${patches[$i]}
	if ! "${G[@]}" am -q --keep-cr "$repo/qemu-patches/$p"; then
		echo "not ok $((++n)) - $p applies"; exit 1
	fi
	[ "$num" -lt "$first" ] && continue
	[ "$num" -gt "$last" ] && break
	echo "ok $((++n)) - $p applies with git am"

	if "$wt/scripts/checkpatch.pl" -q "$repo/qemu-patches/$p" 2>&1 |
	   grep -q '^ERROR'; then
		echo "not ok $((++n)) - $p: checkpatch.pl errors"; fails=$((fails + 1))
	else
		echo "ok $((++n)) - $p: checkpatch.pl has no errors"
	fi

	# Before the device exists, build without it (and without the option
	# that does not exist yet).
	mak=$wt/configs/devices/x86_64-softmmu/vswap-verify.mak
	grep -v VIRTIO_VSWAP "$repo/scripts/qemu/vswap-x86_64.mak" > "$mak.new"
	opts=()
	if grep -q "option('vswap'" "$wt/meson_options.txt"; then
		opts+=(--enable-vswap)
	fi
	if grep -q '^config VIRTIO_VSWAP' "$wt/hw/virtio/Kconfig"; then
		echo CONFIG_VIRTIO_VSWAP=y >> "$mak.new"
	fi
	cmp -s "$mak.new" "$mak" || mv "$mak.new" "$mak"
	rm -f "$mak.new"
	conf=(--python=/usr/bin/python3 --target-list=x86_64-softmmu
		--without-default-features --without-default-devices
		--with-devices-x86_64=vswap-verify --enable-kvm --enable-tcg
		--enable-slirp --enable-zstd --enable-numa --enable-fdt=system
		--disable-docs --disable-werror --disable-install-blobs "${opts[@]}")
	mkdir -p "$bdir"
	if [ "$(cat "$bdir/vswap-configure" 2>/dev/null)" != "${conf[*]}" ]; then
		(cd "$bdir" && PKG_CONFIG_PATH=$top/vswap/lib/pkgconfig \
			"$wt/configure" "${conf[@]}" >configure.log 2>&1) &&
			echo "${conf[*]}" > "$bdir/vswap-configure"
	fi
	targets=(qemu-system-x86_64)
	[ -f "$wt/tests/qtest/virtio-vswap-test.c" ] && targets+=(tests/qtest/qos-test)
	t0=$(date +%s)
	if PKG_CONFIG_PATH=$top/vswap/lib/pkgconfig ninja -C "$bdir" -j"$JOBS" \
		"${targets[@]}" >"$bdir/ninja-$num.log" 2>&1; then
		echo "ok $((++n)) - QEMU builds after $p ($(grep -c '^\[' "$bdir/ninja-$num.log") steps, $(($(date +%s) - t0)) s)"
	else
		grep -E -A5 'error|FAILED' "$bdir/ninja-$num.log" | head -30 | sed 's/^/# /'
		echo "not ok $((++n)) - QEMU builds after $p"; fails=$((fails + 1))
	fi
done
echo "1..$n"
[ $fails -eq 0 ]

#!/usr/bin/env bash
# Build QEMU 10.0 (Debian's source package) with the qemu-patches/ series and
# libvswap, for x86_64 only, with a small device set.
#
#   scripts/build-qemu.sh [--asan|--plugins|--fuzz] [--tests] [--no-deps]
#
#   --asan     separate build with --enable-asan and libvswap built with
#              ASan+UBSan; installs $BUILD/qemu-asan/ instead of $BUILD/qemu/
#   --plugins  separate build with --enable-plugins (TCG plugins, for
#              counting guest instructions); installs $BUILD/qemu-plugins/
#              with libinsn.so (QEMU's tests/tcg/plugins/insn.c) and
#              libtbprof.so (tests/bench/tbprof.c) beside it
#   --fuzz     separate build with clang-16, --enable-fuzzing and ASan +
#              UBSan: $BUILD/qemu-fuzz/qemu-fuzz-x86_64, QEMU's libFuzzer
#              binary (generic-fuzz-virtio-vswap* targets, patch 0011)
#   --tests    also build the qtest binary (qos-test) and install it
#   --no-deps  do not run scripts/install-deps.sh
#
# Result: $BUILD/qemu/qemu-system-x86_64 (a copy; firmware is searched in
# /usr/share/seabios and /usr/share/qemu, no -L needed), and with --tests
# $BUILD/qemu/qos-test.
#
# Cache: everything big lives outside the clone, in
#   ${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}/qemu-<debver>/
#     dl/            the source package as fetched by apt-get source
#     src/           git repo (scripts/qemu/source.sh): tag debian-base =
#                    dpkg-source -x result, HEAD = debian-base + the
#                    series; built from
#     apply/         git worktree where the series is applied afresh
#     build[-asan|-plugins|-fuzz]/  meson build directories
#     vswap[-asan]/  libvswap installed there (make -C host install), with
#                    lib/pkgconfig/vswap.pc: stable paths for pkg-config
# keyed by (QEMU version, hash of qemu-patches/* and the ABI header): when
# the key is unchanged nothing is re-applied and ninja finds nothing to do.
# When it changed, the series is applied to a fresh copy of debian-base in
# apply/, then src/ is moved to that commit with git checkout, which rewrites
# only the files whose content differs, so ninja rebuilds only what changed.
# A changed libvswap.so forces a relink.  One build at a time (flock).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$repo/build}
CACHE=${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}
JOBS=${JOBS:-2}

asan=0 plugins=0 fuzz=0 tests=0 deps=1
for a in "$@"; do
	case $a in
	--asan) asan=1 ;;
	--plugins) plugins=1 ;;
	--fuzz) fuzz=1 ;;
	--tests) tests=1 ;;
	--no-deps) deps=0 ;;
	-h|--help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "build-qemu: unknown argument $a" >&2; exit 2 ;;
	esac
done

log() { echo "build-qemu: $*" >&2; }
t0=$(date +%s)
if [ $((asan + plugins + fuzz)) -gt 1 ]; then
	log "--asan, --plugins and --fuzz are separate builds: one at a time"
	exit 2
fi

[ $deps = 1 ] && "$repo/scripts/install-deps.sh" qemu host

mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
if ! flock -n 9; then
	log "another QEMU build holds $CACHE/lock; waiting"
	flock 9
fi

git_q() { git -c user.name=virtio-vswap -c user.email=virtio-vswap@localhost \
	-c advice.detachedHead=false "$@"; }

# --- 1. source package, fetched and unpacked once ---------------------------
top=$("$repo/scripts/qemu/source.sh")
src=$top/src
ver=${top##*/qemu-}

# --- 2. the series, re-applied only when it changed ------------------------
series=$repo/qemu-patches/series
abi=$repo/include/linux/virtio_vswap.h
mak=$repo/scripts/qemu/vswap-x86_64.mak
key=$( (echo "$ver"; cat "$series"; grep -v '^#' "$series" | while read -r p; do
	[ -n "$p" ] && cat "$repo/qemu-patches/$p"; done; cat "$abi" "$mak") |
	sha256sum | cut -c1-16)

if [ "$(cat "$top/series.key" 2>/dev/null)" != "$key" ]; then
	log "applying qemu-patches/ (key $key) to a fresh debian-base"
	apply=$top/apply
	if [ ! -d "$apply" ]; then
		git -C "$src" worktree prune
		git -C "$src" worktree add -q --detach "$apply" debian-base
	fi
	git -C "$apply" am --abort >/dev/null 2>&1 || true
	git_q -C "$apply" checkout -q -f --detach debian-base
	git -C "$apply" clean -q -f -d -x
	while read -r p; do
		case $p in ''|'#'*) continue ;; esac
		if ! git_q -C "$apply" am -q --keep-cr "$repo/qemu-patches/$p"; then
			git -C "$apply" am --abort || true
			log "ERROR: qemu-patches/$p does not apply"
			exit 1
		fi
	done < "$series"
	head=$(git -C "$apply" rev-parse HEAD)
	# Only files that differ from the current checkout are rewritten.
	git_q -C "$src" checkout -q -f --detach "$head"
	echo "$key" > "$top/series.key"
fi

# Files the build adds to the tree; rewritten only when their content changes
# (a rewrite would make ninja rebuild their users).
put() {		# src-file dst-file
	if ! cmp -s "$1" "$2"; then cp "$1" "$2"; fi
}
put "$mak" "$src/configs/devices/x86_64-softmmu/vswap-x86_64.mak"
gen=$(mktemp)
"$repo/scripts/qemu/gen-std-header.sh" "$src" "$abi" "$gen"
std=$src/include/standard-headers/linux/virtio_vswap.h
if ! cmp -s "$gen" "$std"; then
	log "WARNING: the series' include/standard-headers/linux/virtio_vswap.h" \
	    "differs from the one generated from include/linux/virtio_vswap.h;" \
	    "building with the generated one (refresh patch 0001)"
	cp "$gen" "$std"
fi
rm -f "$gen"

# --- 3. libvswap, installed at a stable path for pkg-config ---------------
if [ $asan = 1 ]; then
	flavour=-asan
	san=(SAN=asan OPT=-O1)
else
	flavour=
	san=()
fi
stage=$top/vswap$flavour
# The plugin and fuzz builds use the ordinary libvswap (the fuzz build's
# sanitizers cover QEMU; libvswap has its own harnesses, host/fuzz).
[ $plugins = 1 ] && flavour=-plugins
[ $fuzz = 1 ] && flavour=-fuzz
make -s -C "$repo/host" BUILD="$BUILD" "${san[@]}" install PREFIX="$stage" >&2
# QEMU runs from its build directory and from $BUILD/qemu, never installed:
# it finds the shared library through an rpath to the stage, added to the
# staged copy of vswap.pc only.
pc=$(mktemp)
sed 's|^Libs: .*|& -Wl,-rpath,${libdir}|' "$stage/lib/pkgconfig/vswap.pc" > "$pc"
put "$pc" "$stage/lib/pkgconfig/vswap.pc"
rm -f "$pc"

# --- 4. configure (once per flag set) and build ----------------------------
bdir=$top/build$flavour
conf=(--python=/usr/bin/python3 --target-list=x86_64-softmmu
	--without-default-features --without-default-devices
	--with-devices-x86_64=vswap-x86_64
	--enable-kvm --enable-tcg --enable-slirp --enable-zstd --enable-numa
	--enable-fdt=system --enable-vswap --disable-docs --disable-werror
	--disable-install-blobs --firmwarepath=/usr/share/seabios:/usr/share/qemu)
[ $asan = 1 ] && conf+=(--enable-asan --enable-ubsan)
[ $plugins = 1 ] && conf+=(--enable-plugins)
[ $fuzz = 1 ] && conf+=(--cc=clang-16 --cxx=clang++-16 --enable-fuzzing
	--enable-asan --enable-ubsan)
mkdir -p "$bdir"
if [ ! -f "$bdir/build.ninja" ] ||
   [ "$(cat "$bdir/vswap-configure" 2>/dev/null)" != "${conf[*]} $stage" ]; then
	log "configuring $bdir"
	(cd "$bdir" && PKG_CONFIG_PATH=$stage/lib/pkgconfig \
		"$src/configure" "${conf[@]}" > configure.log 2>&1) || {
		tail -30 "$bdir/configure.log" >&2
		log "ERROR: configure failed (log: $bdir/configure.log)"
		exit 1
	}
	# The stage is in the stamp: meson keeps the pkg-config path it was
	# configured with, so a new stage layout needs a new configure.
	echo "${conf[*]} $stage" > "$bdir/vswap-configure"
fi

# ninja does not see through -lvswap: relink when the library changed (a
# call gone from it then fails the link here, not QEMU's start).
libsum=$(sha256sum "$stage/lib/libvswap.so" | cut -c1-16)
if [ "$(cat "$bdir/vswap-lib.sum" 2>/dev/null)" != "$libsum" ]; then
	rm -f "$bdir/qemu-system-x86_64"
	echo "$libsum" > "$bdir/vswap-lib.sum"
fi

targets=(qemu-system-x86_64)
[ $fuzz = 1 ] && targets=(qemu-fuzz-x86_64)
[ $tests = 1 ] && targets+=(tests/qtest/qos-test)
[ $plugins = 1 ] && targets+=(tests/tcg/plugins/libinsn.so)
log "ninja -j$JOBS ${targets[*]} in $bdir"
PKG_CONFIG_PATH=$stage/lib/pkgconfig ninja -C "$bdir" -j"$JOBS" "${targets[@]}" \
	> "$bdir/ninja.log" 2>&1 || {
	grep -E -B2 -A8 'error|FAILED' "$bdir/ninja.log" | tail -60 >&2
	log "ERROR: build failed (log: $bdir/ninja.log)"
	exit 1
}
grep -c '^\[' "$bdir/ninja.log" | sed 's/^/build-qemu: ninja steps run: /' >&2

# --- 5. install into the clone's build directory ---------------------------
out=$BUILD/qemu$flavour
mkdir -p "$out"
install_copy() {	# file [rpath]
	cp "$1" "$out/.$(basename "$1").tmp"
	[ -n "${2:-}" ] && patchelf --set-rpath "$2" "$out/.$(basename "$1").tmp"
	mv -f "$out/.$(basename "$1").tmp" "$out/$(basename "$1")"
}
# libvswap goes beside the binaries, found through $ORIGIN: the stage's
# rpath points into the cache, which a QEMU that libvirt runs as another
# user may not read.
cp "$(readlink -f "$stage/lib/libvswap.so.0")" "$out/.libvswap.so.0.tmp"
mv -f "$out/.libvswap.so.0.tmp" "$out/libvswap.so.0"
bins=("$bdir/qemu-system-x86_64")
[ $fuzz = 1 ] && bins=("$bdir/qemu-fuzz-x86_64")
[ $tests = 1 ] && bins+=("$bdir/tests/qtest/qos-test")
for b in "${bins[@]}"; do
	install_copy "$b" '$ORIGIN'
done
if [ $plugins = 1 ]; then
	install_copy "$bdir/tests/tcg/plugins/libinsn.so"
	# bench-guest's profiler (BENCH_PROFILE=1), against this tree's
	# plugin API header
	read -r -a glib_cflags <<<"$(pkg-config --cflags glib-2.0)"
	gcc -O2 -Wall -Wextra -shared -fPIC -I"$src/include/qemu" \
		"${glib_cflags[@]}" -o "$out/.libtbprof.so.tmp" \
		"$repo/tests/bench/tbprof.c"
	mv -f "$out/.libtbprof.so.tmp" "$out/libtbprof.so"
fi
echo "$ver $key" > "$out/VERSION"
log "done in $(($(date +%s) - t0)) s: $out/$(basename "${bins[0]}") ($ver, series $key)"

#!/usr/bin/env bash
# Fetch and unpack Debian's QEMU 10.0 source once, as a git repository whose
# tag debian-base is the dpkg-source -x result (Debian's patches applied).
# Prints the top directory of that version in the cache:
#   $CACHE/qemu-<debver>/          with src/ (the git repository) in it
#
#   scripts/qemu/source.sh
#
# Used by build-qemu.sh, gen-series.sh and verify-series.sh, so that all
# three start from the same tree.  Cache: ${VSWAP_CACHE:-$HOME/.cache/
# virtio-vswap}; one fetch at a time (source.lock).
set -euo pipefail

CACHE=${VSWAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-vswap}
# The series is written against this Debian version; another one is used
# (with a warning) only if the archive no longer has it.
QEMU_DEB_VERSION=${QEMU_DEB_VERSION:-1:10.0.13+ds-0+deb13u1}

log() { echo "qemu-source: $*" >&2; }
git_q() { git -c user.name=virtio-vswap -c user.email=virtio-vswap@localhost \
	-c advice.detachedHead=false "$@"; }

dl=$CACHE/dl
mkdir -p "$dl"
exec 8>"$CACHE/source.lock"
flock 8
dsc=$(ls "$dl"/qemu_*.dsc 2>/dev/null | head -1 || true)
if [ -z "$dsc" ]; then
	log "fetching the QEMU source package ($QEMU_DEB_VERSION) with apt"
	tmp=$(mktemp -d "$dl/.fetch.XXXXXX")
	if ! (cd "$tmp" && apt-get source -qq --download-only \
		"qemu=$QEMU_DEB_VERSION" >&2); then
		log "WARNING: qemu=$QEMU_DEB_VERSION not in the archive;" \
		    "taking the newest trixie source; the series may not apply"
		(cd "$tmp" && apt-get source -qq --download-only qemu >&2)
	fi
	mv "$tmp"/* "$dl"/
	rmdir "$tmp"
	dsc=$(ls "$dl"/qemu_*.dsc | head -1)
fi
ver=$(basename "$dsc" .dsc)
ver=${ver#qemu_}
top=$CACHE/qemu-$ver
src=$top/src

if [ ! -d "$src/.git" ]; then
	log "unpacking $ver (dpkg-source -x applies Debian's patches)"
	rm -rf "$top/.unpack" "$src"
	mkdir -p "$top"
	# (gpgv says it cannot check the signature: apt verified the files)
	dpkg-source -q -x "$dsc" "$top/.unpack" >"$top/unpack.log" 2>&1 || {
		cat "$top/unpack.log" >&2; exit 1; }
	(cd "$top/.unpack" && git init -q && git add -A -f . &&
	 git_q commit -q -m "Debian qemu $ver (dpkg-source -x)" &&
	 git tag debian-base)
	mv "$top/.unpack" "$src"
fi
echo "$top"

#!/usr/bin/env bash
# Download the guest kernels into the cache without installing anything:
#   6.12: newest linux-image-6.12.*+deb12-cloud-amd64 the apt indexes offer
#         (bookworm-backports, or bookworm-security once Debian moved 6.12
#         there), plus its headers, -common headers and linux-kbuild;
#   6.12-generic: the same for the generic flavour (+deb12-amd64), which
#         has zswap (the cloud flavour has not): bench-guest's peers;
#   6.1:  bookworm main's cloud kernel (linux-headers-cloud-amd64's
#         version): its image and headers, to build for and to boot.
# Each package is fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into $CACHE/root-<version>/; absolute symlinks inside are made
# relative so the tree works where it is. $CACHE/kernel-<series> is a symlink
# to the unpacked tree and holds a small "env" file with KVER/KDIR/VMLINUZ.
# Usage: fetch-kernels.sh [6.12] [6.12-generic] [6.1]  (default: 6.12 6.1)
set -euo pipefail
. "$(dirname "$0")/../common.sh"

series=("$@")
[ ${#series[@]} -gt 0 ] || series=(6.12 6.1)
mkdir -p "$CACHE/debs"

# newest name matching an extended regex among the packages apt knows
newest_pkg() {
	apt-cache search --names-only "$1" | awk '{print $1}' | sort -V | tail -n "${2:-1}"
}

fetch_deb() {		# package -> path of the .deb in the cache
	local p=$1 f
	f=$(ls "$CACHE/debs/${p}_"*.deb 2>/dev/null | head -1 || true)
	if [ -z "$f" ]; then
		(cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$p" >&2) || return 1
		f=$(ls "$CACHE/debs/${p}_"*.deb | head -1)
	fi
	echo "$f"
}

# Make every absolute symlink under $1 point inside $1 (relative link).
relink() {
	local root=$1 l t
	find "$root" -type l -lname '/*' -print0 | while IFS= read -r -d '' l; do
		t=$(readlink "$l")
		ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$root$t")" "$l"
	done
}

unpack() {		# root, package...
	local root=$1 p; shift
	mkdir -p "$root"
	for p in "$@"; do
		[ -f "$root/.done-$p" ] && continue
		log "unpacking $p"
		dpkg-deb -x "$(fetch_deb "$p")" "$root"
		touch "$root/.done-$p"
	done
	relink "$root"
	# The headers' top Makefile includes the -common tree by absolute path
	# (/usr/src/..., or this cache's old place if it moved).
	sed -i "s|^include .*/usr/src/linux-headers-|include $root/usr/src/linux-headers-|" \
		"$root"/usr/src/linux-headers-*/Makefile 2>/dev/null || true
}

# kbuild package named in a headers package's Depends
dep_of() {		# package, regex
	apt-cache show "$1" | sed -n 's/^Depends: //p' | head -1 | tr ',|' '\n\n' |
		sed 's/^ *//; s/ .*//' | grep -E "$2" | head -1
}

get_612() {		# series, flavour (the package name's suffix)
	local img kver ok=""
	# Newest first; fall back to an older one if a download fails.
	for img in $(newest_pkg "^linux-image-6\\.12\\.[0-9]+\\+deb12-$2\$" 3 | tac); do
		kver=${img#linux-image-}
		apt-cache show "linux-headers-$kver" >/dev/null 2>&1 || continue
		local hdr=linux-headers-$kver
		local common kbuild root
		common=$(dep_of "$hdr" '^linux-headers-.*-common$')
		kbuild=$(dep_of "$hdr" '^linux-kbuild-')
		root=$CACHE/root-$kver
		if unpack "$root" "$img" "$hdr" "$common" "$kbuild"; then
			ok=1
			break
		fi
	done
	[ -n "$ok" ] || die "no 6.12 $2 kernel could be fetched"
	write_env "$1" "$kver" "$root" "$root/boot/vmlinuz-$kver"
}

get_61() {
	local hdr kver common kbuild root
	hdr=$(apt-cache depends linux-headers-cloud-amd64 2>/dev/null |
		sed -n 's/.*Depends: \(linux-headers-6\.1\.[^ ]*\)$/\1/p' | head -1)
	[ -n "$hdr" ] || hdr=$(newest_pkg '^linux-headers-6\.1\.0-[0-9]+-cloud-amd64$')
	[ -n "$hdr" ] || die "no 6.1 headers package found"
	kver=${hdr#linux-headers-}
	common=$(dep_of "$hdr" '^linux-headers-.*-common$')
	kbuild=$(dep_of "$hdr" '^linux-kbuild-')
	root=$CACHE/root-$kver
	unpack "$root" "linux-image-$kver" "$hdr" "$common" "$kbuild"
	write_env 6.1 "$kver" "$root" "$root/boot/vmlinuz-$kver"
}

write_env() {		# series, kver, root, vmlinuz
	local d
	d=$(kernel_dir "$1")
	ln -sfn "root-$2" "$d"
	cat > "$3/env.tmp" <<EOT
KVER=$2
KDIR=$3/usr/src/linux-headers-$2
VMLINUZ=$4
MODDIR=$3/lib/modules/$2
EOT
	mv "$3/env.tmp" "$3/env"
	log "kernel $1: $2"
}

cd "$CACHE"
for s in "${series[@]}"; do
	case $s in
	6.12) get_612 6.12 cloud-amd64 ;;
	6.12-generic) get_612 6.12-generic amd64 ;;
	6.1)  get_61 ;;
	*) die "unknown kernel series $s" ;;
	esac
done

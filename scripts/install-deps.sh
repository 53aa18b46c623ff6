#!/usr/bin/env bash
# Install everything the project needs on Debian 12 (bookworm), idempotently.
# Usage: scripts/install-deps.sh [host|qemu|guest|libvirt|fuzz|cross|all]...
# (fuzz: the libFuzzer toolchain of make fuzz and make check's fuzz-smoke.)
# Adds bookworm-backports (meson >= 1.5, 6.12 kernels) and a source-only trixie
# entry (QEMU 10.0 source). Safe to run repeatedly; does nothing when all is there.
set -euo pipefail

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(all)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

host_pkgs=(gcc make pkg-config liblz4-dev libzstd-dev libnuma-dev libcmocka-dev
	   python3 gnuplot-nox libjson-c-dev python3-jsonschema)
qemu_pkgs=(dpkg-dev ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev
	   libslirp-dev flex bison python3-venv seabios qemu-system-data
	   libzstd-dev libnuma-dev patchelf)
guest_pkgs=(busybox-static cpio xz-utils kmod bc libelf-dev dkms dwarves)
fuzz_pkgs=(clang-16 libfuzzer-16-dev libclang-rt-16-dev)
# make -C host check-arm64: the arm64 CRC-32C path under qemu-user.
cross_pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
libvirt_pkgs=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	      libvirt-dev)

sources_dir=/etc/apt/sources.list.d
need_update=0

add_source() {		# name, content
	local f="$sources_dir/$1.sources"
	if [ ! -f "$f" ] || [ "$(cat "$f")" != "$2" ]; then
		printf '%s\n' "$2" | $SUDO tee "$f" >/dev/null
		need_update=1
	fi
}

add_source vswap-bookworm-backports "Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

add_source vswap-trixie-src "Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

stamp=/var/lib/apt/lists/.vswap-updated
if [ $need_update = 1 ] || [ ! -f $stamp ] ||
   [ -n "$(find $stamp -mmin +720 2>/dev/null)" ]; then
	$SUDO apt-get update -qq
	$SUDO touch $stamp
fi

pkgs=()
backports=()
for w in "${want[@]}"; do
	case $w in
	host)    pkgs+=("${host_pkgs[@]}") ;;
	qemu)    pkgs+=("${qemu_pkgs[@]}"); backports+=(meson) ;;
	guest)   pkgs+=("${guest_pkgs[@]}") ;;
	libvirt) pkgs+=("${libvirt_pkgs[@]}") ;;
	fuzz)    pkgs+=("${fuzz_pkgs[@]}") ;;
	cross)   pkgs+=("${cross_pkgs[@]}") ;;
	all)     pkgs+=("${host_pkgs[@]}" "${qemu_pkgs[@]}" "${guest_pkgs[@]}"
		       "${libvirt_pkgs[@]}" "${fuzz_pkgs[@]}" "${cross_pkgs[@]}")
		 backports+=(meson) ;;
	*) echo "install-deps: unknown group '$w'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "${missing[@]}"
fi

for p in "${backports[@]}"; do
	case $p in
	meson)	# QEMU 10 needs meson >= 1.5; bookworm has 1.0.
		v=$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)
		if [ -z "$v" ] || dpkg --compare-versions "$v" lt 1.5; then
			DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
				--no-install-recommends -t bookworm-backports meson
		fi ;;
	esac
done

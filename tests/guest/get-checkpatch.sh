#!/usr/bin/env bash
# Put the kernel's scripts/checkpatch.pl (and the data files it reads) into
# $CACHE/checkpatch/ and print the path of checkpatch.pl. The script comes out
# of Debian's linux-source-6.12 package (apt-get download, unpacked in the
# cache; only the needed members are kept).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

dst=$CACHE/checkpatch
if [ ! -x "$dst/scripts/checkpatch.pl" ]; then
	mkdir -p "$CACHE/debs" "$dst"
	tmp=$(mktemp -d "$CACHE/cp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root linux-source-6.12 >&2)
	dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.12_*.deb |
		tar -x -C "$tmp" --wildcards './usr/src/linux-source-*.tar.xz'
	tar -xJf "$tmp"/usr/src/linux-source-*.tar.xz -C "$tmp" --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' '*/Documentation/dev-tools/checkpatch.rst'
	src=$(find "$tmp" -maxdepth 1 -type d -name "linux-source-*")
	mkdir -p "$dst/scripts" "$dst/Documentation/dev-tools"
	cp "$src"/scripts/checkpatch.pl "$src"/scripts/spelling.txt \
	   "$src"/scripts/const_structs.checkpatch "$dst/scripts/"
	cp "$src"/Documentation/dev-tools/checkpatch.rst "$dst/Documentation/dev-tools/"
fi
echo "$dst/scripts/checkpatch.pl"

#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The installed libvswap as a consumer sees it (run by `make check-install`
# after `make install DESTDIR=ROOT PREFIX=PREFIX`), TAP on stdout:
#   - the files are there, the links point where the soname says;
#   - vswap.pc names the installed paths; pkg-config --cflags --libs is
#     all a program needs to build, and it runs (LD_LIBRARY_PATH, since
#     ROOT is not where the .pc says);
#   - readelf -d: SONAME is SONAME and the program needs exactly that;
#   - the .so exports the calls of vswap.h and nothing else, each at the
#     version node of libvswap.map that lists it;
#   - pkg-config --static links a fully static program (not under a
#     sanitizer: they have no static runtime).
#
#   install_check.sh ROOT PREFIX VERSION SONAME    ($CC, $CFLAGS honoured)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
root=$1 prefix=$2 version=$3 soname=$4
CC=${CC:-cc}
CFLAGS=${CFLAGS:-}
lib=$root$prefix/lib
inc=$root$prefix/include
map=$HERE/../libvswap.map
t=$(mktemp -d "${TMPDIR:-/tmp}/vswap-consumer.XXXXXX")
trap 'rm -rf "$t"' EXIT

n=0 failed=0
ok()  { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# check NAME CMD...: ok if CMD succeeds, else its output as diagnostics.
check() {
	local name=$1; shift
	if "$@" >"$t/out" 2>&1; then ok "$name"
	else nok "$name"; sed 's/^/# /' "$t/out"; fi
}
# pc ARGS...: pkg-config on the installed vswap.pc; the sysroot puts
# ROOT in front of the paths it prints, as for a staged install.
pc() {
	PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root \
		pkg-config "$@" vswap
}

check "installed: vswap.h, libvswap.so.$version, libvswap.a, vswap.pc" \
	test -f "$inc/vswap.h" -a -f "$lib/libvswap.so.$version" \
	     -a -f "$lib/libvswap.a" -a -f "$lib/pkgconfig/vswap.pc"
check "links: $soname -> libvswap.so.$version, libvswap.so -> $soname" \
	test "$(readlink "$lib/$soname")" = "libvswap.so.$version" -a \
	     "$(readlink "$lib/libvswap.so")" = "$soname"
check "vswap.pc: version $version, the installed paths" bash -c "
	[ \"\$(PKG_CONFIG_PATH='$lib/pkgconfig' pkg-config --modversion vswap)\" = '$version' ] &&
	grep -qx 'libdir=$prefix/lib' '$lib/pkgconfig/vswap.pc' &&
	grep -qx 'includedir=$prefix/include' '$lib/pkgconfig/vswap.pc'"

cat >"$t/consumer.c" <<'C'
/* A consumer of the installed library: public API only. */
#include <stdio.h>
#include <string.h>
#include <vswap.h>

int main(void)
{
	unsigned char page[VSWAP_PAGE_SIZE], back[VSWAP_PAGE_SIZE];
	struct vswap_params p;
	struct vswap_stats st;
	struct vswap_store *s;
	int err = 0;

	for (unsigned i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)(i * 7 / 13);
	vswap_params_init(&p, 64);
	s = vswap_store_create(&p, &err);
	if (!s) {
		printf("create: %s\n", vswap_strerror(err));
		return 1;
	}
	if (vswap_store_page(s, 3, page) || vswap_load_page(s, 3, back) ||
	    memcmp(page, back, sizeof(page))) {
		printf("page 3 did not come back\n");
		return 1;
	}
	vswap_get_stats(s, &st);
	if (st.stored_pages != 1 || st.loads != 1 ||
	    st.pool_bytes != vswap_pool_bytes(s)) {
		printf("stats: stored %llu loads %llu pool %llu/%llu\n",
		       (unsigned long long)st.stored_pages,
		       (unsigned long long)st.loads,
		       (unsigned long long)st.pool_bytes,
		       (unsigned long long)vswap_pool_bytes(s));
		return 1;
	}
	vswap_store_destroy(s);
	printf("consumer ok\n");
	return 0;
}
C
# shellcheck disable=SC2046 # pkg-config output is words by design
check "a program builds with pkg-config --cflags --libs vswap" \
	$CC $CFLAGS -o "$t/consumer" "$t/consumer.c" $(pc --cflags --libs)
check "it runs against the installed libvswap.so (LD_LIBRARY_PATH)" bash -c \
	"LD_LIBRARY_PATH='$lib' '$t/consumer' | grep -qx 'consumer ok' &&
	 LD_LIBRARY_PATH='$lib' ldd '$t/consumer' | grep -q '$soname => $lib/$soname'"
check "readelf -d: SONAME [$soname]; the program NEEDs [$soname]" bash -c \
	"readelf -d '$lib/libvswap.so.$version' | grep -q 'SONAME.*\\[$soname\\]' &&
	 readelf -d '$t/consumer' | grep -q 'NEEDED.*\\[$soname\\]'"

# Exported (defined, dynamic) symbols; the version node's own name is an
# absolute symbol, not something a program binds to.
nm -D --defined-only "$lib/libvswap.so.$version" | awk '$2 != "A" { print $3 }' |
	sed 's/@.*//' | sort -u >"$t/exported"
if grep -v '^vswap_' "$t/exported" >"$t/out"; then
	nok "nm -D --defined-only: only vswap_* symbols are exported"
	sed 's/^/# exported: /' "$t/out"
else
	ok "nm -D --defined-only: only vswap_* symbols are exported ($(wc -l <"$t/exported"))"
fi
# The calls vswap.h declares (not the static inline ones).
grep -oE '^[a-z][a-z0-9_ *]*[ *]vswap_[a-z0-9_]+\(' "$inc/vswap.h" |
	grep -v '^static' | grep -oE 'vswap_[a-z0-9_]+\($' | tr -d '(' |
	sort -u >"$t/declared"
sed -n 's/^[[:space:]]*\(vswap_[a-z0-9_]*\);.*/\1/p' "$map" | sort -u >"$t/listed"
check "exported == declared in vswap.h == listed in libvswap.map" bash -c \
	"diff '$t/declared' '$t/exported' && diff '$t/declared' '$t/listed'"
# symbol node, for each name the map lists, from the node it is listed in.
awk '/^VSWAP_[0-9_.]* {/ { node = $1 }
     /^[[:space:]]*vswap_[a-z0-9_]*;/ { sub(/;.*/, ""); print $1, node }' \
	"$map" | sort >"$t/nodes"
objdump -T "$lib/libvswap.so.$version" |
	awk '$NF ~ /^vswap_/ { print $NF, $(NF-1) }' | sort >"$t/versioned"
check "every export is versioned at its node of libvswap.map (objdump -T)" \
	bash -c "[ -s '$t/nodes' ] && diff '$t/nodes' '$t/versioned'"

case " $CFLAGS " in
*-fsanitize*)
	skip "pkg-config --static: a static program links and runs" \
		"sanitizers have no static runtime" ;;
*)
	# shellcheck disable=SC2046
	check "pkg-config --static: a static program links and runs" bash -c \
		"$CC $CFLAGS -static -o '$t/consumer-static' '$t/consumer.c' \
			$(pc --static --cflags --libs) &&
		 '$t/consumer-static' | grep -qx 'consumer ok'" ;;
esac

echo "1..$n"
[ "$failed" -eq 0 ]

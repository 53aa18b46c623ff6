#!/usr/bin/env bash
# Generate the QEMU patch series (qemu-patches/NNNN-*.patch and
# qemu-patches/series) from its sources (qemu-patches/README.md):
#
#   qemu-patches/tree/      the files the series adds, in QEMU's layout
#   qemu-patches/commits/NN-name/
#       message             subject line, blank line, body
#       files               the tree/ paths this patch adds, one a line;
#                           "generated PATH" for the standard header made
#                           from include/linux/virtio_vswap.h
#       *.diff              changes to QEMU's own files, applied in name
#                           order (git apply)
#   qemu-patches/commits/AUTHOR   "Name <email>" and the patch date
#
# On a worktree of Debian's QEMU source (scripts/qemu/source.sh) each
# commits/ directory becomes one commit, then git format-patch writes the
# series.  The output depends only on those inputs: fixed author and date,
# zero commit ids, full blob ids, no git version signature.
#
#   scripts/qemu/gen-series.sh            rewrite qemu-patches/ (the series)
#   scripts/qemu/gen-series.sh --check    regenerate into a temporary
#                                         directory, fail if the committed
#                                         series differs (prints the diff)
#   --no-deps                             do not run install-deps.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
pq=$repo/qemu-patches
check=0 deps=1
for a in "$@"; do
	case $a in
	--check) check=1 ;;
	--no-deps) deps=0 ;;
	-h|--help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "gen-series: unknown argument $a" >&2; exit 2 ;;
	esac
done

[ $deps = 1 ] && "$repo/scripts/install-deps.sh" qemu >&2
top=$("$repo/scripts/qemu/source.sh")
src=$top/src

author=$(sed -n 's/^Author: *//p' "$pq/commits/AUTHOR")
date=$(sed -n 's/^Date: *//p' "$pq/commits/AUTHOR")
name=${author% <*} email=${author##*<} email=${email%>}

tmp=$(mktemp -d)
wt=$tmp/wt
cleanup() {
	git -C "$src" worktree remove --force "$wt" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
git -C "$src" worktree prune
git -C "$src" -c advice.detachedHead=false worktree add -q --detach "$wt" debian-base

export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email GIT_AUTHOR_DATE=$date
export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email
export GIT_COMMITTER_DATE=$date

for dir in "$pq"/commits/*/; do
	dir=${dir%/}
	while read -r kind path; do
		case $kind in
		''|'#'*) continue ;;
		generated)
			"$repo/scripts/qemu/gen-std-header.sh" "$src" \
				"$repo/include/linux/virtio_vswap.h" "$wt/$path" ;;
		*)
			path=$kind
			if [ ! -f "$pq/tree/$path" ]; then
				echo "gen-series: $dir/files names $path," \
				     "not in qemu-patches/tree" >&2
				exit 1
			fi
			mkdir -p "$(dirname "$wt/$path")"
			cp "$pq/tree/$path" "$wt/$path" ;;
		esac
	done < "$dir/files"
	for d in "$dir"/*.diff; do
		[ -e "$d" ] || continue
		if ! git -C "$wt" apply "$d"; then
			echo "gen-series: $d does not apply" >&2
			exit 1
		fi
	done
	git -C "$wt" add -A
	{ cat "$dir/message"; echo; echo "Signed-off-by: $author"; } |
		git -C "$wt" commit -q --no-verify -F -
done

# Every tree/ file belongs to exactly one patch.
( cd "$pq/tree" && find . -type f | sed 's|^\./||' | sort ) > "$tmp/tree.list"
cat "$pq"/commits/*/files | awk '$1 != "generated" && NF' | sort > "$tmp/used.list"
if ! diff -u "$tmp/tree.list" "$tmp/used.list" >&2; then
	echo "gen-series: tree/ files and commits/*/files differ (above)" >&2
	exit 1
fi

out=$tmp/out
git -C "$wt" -c diff.algorithm=myers -c diff.renames=false \
	-c diff.noprefix=false -c diff.mnemonicPrefix=false \
	-c format.signature= -c format.coverLetter=false \
	format-patch -q --zero-commit --no-signature --full-index \
	--stat=80 -o "$out" debian-base..HEAD
(cd "$out" && ls -1 [0-9]*.patch) > "$out/series"

if [ $check = 1 ]; then
	(cd "$pq" && ls -1 [0-9]*.patch series 2>/dev/null) | sort > "$tmp/have"
	(cd "$out" && ls -1) | sort > "$tmp/want"
	rc=0
	diff -u "$tmp/have" "$tmp/want" >&2 || rc=1
	for f in $(cat "$tmp/want"); do
		[ -f "$pq/$f" ] || continue
		diff -u "$pq/$f" "$out/$f" >&2 || rc=1
	done
	if [ $rc != 0 ]; then
		echo "gen-series: the committed series is not what qemu-patches/tree" \
		     "and qemu-patches/commits generate; run scripts/qemu/gen-series.sh" >&2
		exit 1
	fi
	echo "gen-series: the committed series matches tree/ and commits/" \
	     "($(wc -l < "$out/series") patches)" >&2
	exit 0
fi

rm -f "$pq"/[0-9]*.patch "$pq/series"
cp "$out"/* "$pq"/
echo "gen-series: wrote $(wc -l < "$out/series") patches to qemu-patches/" >&2

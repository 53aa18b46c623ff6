# TAP for shell test suites; source it, don't run it.
#
#   ok WHAT                   a passed test
#   not_ok WHAT [LOG]         a failed one; the tail of LOG (if given) as
#                             diagnostics
#   check WHAT CMD...         run CMD (output kept): ok if it succeeds, else
#                             not ok with CMD's output as diagnostics
#   check_rc STATUS WHAT [LOG]  ok if STATUS is 0, else not_ok WHAT LOG
#   skip WHAT WHY             a skipped test ("ok N - WHAT # SKIP WHY")
#   diag [TEXT...]            "# "-prefixed lines: TEXT, or stdin without TEXT
#   tap_pipe CMD...           run another TAP producer (tests/lib/tap.py) and
#                             count its results as this script's own
#                             (renumbered, its plan dropped; a plan
#                             "1..0 # SKIP why" is one skip; other lines
#                             become diagnostics); if it exits non-zero
#                             without a failure, that is one
#   plan                      print "1..N" for the tests so far
#   tap_end                   plan, a "# N passed, N failed, N skipped"
#                             line, and exit: 0 if nothing failed
#
# Numbers are consecutive from 1; tests/run.sh counts these lines.

TAP_N=0 TAP_FAILED=0 TAP_SKIPPED=0

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

not_ok() {
	TAP_N=$((TAP_N + 1)) TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		tail -n 30 "$2" | diag
	fi
}

skip() {
	TAP_N=$((TAP_N + 1)) TAP_SKIPPED=$((TAP_SKIPPED + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

diag() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$*" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}

check() {
	local what=$1 out rc
	shift
	out=$(mktemp "${TMPDIR:-/tmp}/tap-check.XXXXXX")
	"$@" >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$what"
	else
		not_ok "$what"
		diag <"$out"
	fi
	rm -f "$out"
	return $rc
}

check_rc() {
	if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2" "${3:-}"; fi
	return "$1"
}

tap_pipe() {
	local line rc="" what failed0=$TAP_FAILED
	local rx='^(not )?ok( +[0-9]+)?( +-)? *(.*)$'
	# its plan and its summary line (tap_end, Tap.end) are its own
	local plan_rx='^(1\.\.[0-9]+|# [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped)$'
	local skip_rx='^(.*[^ ]) *# *[Ss][Kk][Ii][Pp] *(.*)$'
	while IFS= read -r line; do
		if [[ $line == "tap_pipe-exit "* ]]; then
			rc=${line#tap_pipe-exit }
		elif [[ $line =~ ^1\.\.0\ *#\ *[Ss][Kk][Ii][Pp]\ *(.*)$ ]]; then
			skip "every test of this run" "${BASH_REMATCH[1]}"
		elif [[ $line =~ $rx ]]; then
			what=${BASH_REMATCH[4]}
			if [ -n "${BASH_REMATCH[1]}" ]; then
				not_ok "$what"
			elif [[ $what =~ $skip_rx ]]; then
				skip "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
			else
				ok "$what"
			fi
		elif [[ $line == "#"* ]] && [[ ! $line =~ $plan_rx ]]; then
			printf '%s\n' "$line"
		elif [ -n "$line" ] && [[ ! $line =~ $plan_rx ]]; then
			printf '# %s\n' "$line"	# not TAP: a diagnostic
		fi
	done < <("$@" 2>&1; printf '\ntap_pipe-exit %d\n' $?)
	if [ "$rc" != 0 ] && [ "$TAP_FAILED" -eq "$failed0" ]; then
		not_ok "'$*' exited with status $rc"
	fi
	[ "$rc" = 0 ] && [ "$TAP_FAILED" -eq "$failed0" ]
}

plan() {
	echo "1..$TAP_N"
}

tap_end() {
	plan
	echo "# $((TAP_N - TAP_FAILED - TAP_SKIPPED)) passed, $TAP_FAILED failed, $TAP_SKIPPED skipped"
	[ "$TAP_FAILED" -eq 0 ]
	exit
}

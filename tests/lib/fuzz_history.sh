# shellcheck shell=bash
# fuzz_history DIR RC EXECS RATE COV: a fuzzing run on the corpus in DIR
# ended with exit code RC after EXECS inputs. Appends a line to DIR/history
# (date, result, executions, exec/s, coverage) and prints the executions
# of all clean runs there: runs on one corpus continue each other, so a
# campaign can be spread over several. Clean: no crash, leak or hang,
# also a run stopped with SIGINT (libFuzzer then exits 72); a failed run
# counts for nothing. (host/fuzz/run.sh and scripts/qemu/fuzz.sh.)
fuzz_history() {
	local dir=$1 r=$2 execs=${3:-0} rate=${4:-?} cov=${5:-cov: ?} res total
	case $r in
	0 | 72) res=clean ;;
	*) res="failed($r)" ;;
	esac
	printf '%s %s %s execs %s exec/s %s\n' "$(date -u +%FT%TZ)" "$res" \
		"$execs" "$rate" "$cov" >>"$dir/history"
	total=$(awk '$2 == "clean" { n += $3 } END { print n + 0 }' "$dir/history")
	echo "$(basename "$dir"): $total executions without a finding on this corpus, $(grep -c . "$dir/history") runs ($dir/history)"
}

# shellcheck shell=bash
# fuzz_stat NAME LOG: the value of libFuzzer's final stat NAME in LOG
# (-print_final_stats); after a crash it prints them twice, so the last.
fuzz_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

# fuzz_history DIR RC EXECS RATE COV: a fuzzing run on the corpus in DIR
# ended with exit code RC after EXECS inputs. Appends a line to DIR/history
# (date, result, executions, exec/s, coverage) and prints the executions
# of the clean runs since the last failed one: runs on one corpus continue
# each other, so a campaign can be spread over several, and a finding
# starts it again. Clean: no crash, leak or hang, also a run stopped with
# SIGINT (libFuzzer then exits 72). A line edited by hand to another
# result (e.g. "interrupted": a run paused longer than its -timeout, which
# then reports a timeout no input caused) neither counts nor restarts.
# (host/fuzz/run.sh and scripts/qemu/fuzz.sh.)
fuzz_history() {
	local dir=$1 r=$2 execs=${3:-0} rate=${4:-?} cov=${5:-cov: ?} res total
	case $r in
	0 | 72) res=clean ;;
	*) res="failed($r)" ;;
	esac
	printf '%s %s %s execs %s exec/s %s\n' "$(date -u +%FT%TZ)" "$res" \
		"$execs" "$rate" "$cov" >>"$dir/history"
	total=$(awk '$2 == "clean" { n += $3; runs++ }
		$2 ~ /^failed/ { n = 0; runs = 0 }
		END { print n + 0, "executions in", runs + 0 }' "$dir/history")
	echo "$(basename "$dir"): $total clean runs since the last finding on this corpus ($dir/history)"
}

# shellcheck shell=bash
# fuzz_history DIR RC EXECS RATE COV: a fuzzing run on the corpus in DIR
# ended with exit code RC after EXECS inputs. Appends a line to DIR/history
# (date, result, executions, exec/s, coverage) and prints the executions
# of the clean runs since the last failed one: runs on one corpus continue
# each other, so a campaign can be spread over several, and a finding
# starts it again. Clean: no crash, leak or hang, also a run stopped with
# SIGINT (libFuzzer then exits 72). libFuzzer prints its final stats twice
# after a crash, so each value is the last line given.
# (host/fuzz/run.sh and scripts/qemu/fuzz.sh.)
fuzz_history() {
	local dir=$1 r=$2 execs rate cov res total
	execs=$(printf '%s\n' "$3" | tail -n 1)
	rate=$(printf '%s\n' "$4" | tail -n 1)
	cov=$(printf '%s\n' "$5" | tail -n 1)
	case $r in
	0 | 72) res=clean ;;
	*) res="failed($r)" ;;
	esac
	printf '%s %s %s execs %s exec/s %s\n' "$(date -u +%FT%TZ)" "$res" \
		"${execs:-0}" "${rate:-?}" "${cov:-cov: ?}" >>"$dir/history"
	total=$(awk '$2 == "clean" { n += $3; runs++ }
		$2 ~ /^failed/ { n = 0; runs = 0 }
		END { print n + 0, "executions in", runs + 0 }' "$dir/history")
	echo "$(basename "$dir"): $total clean runs since the last finding on this corpus ($dir/history)"
}

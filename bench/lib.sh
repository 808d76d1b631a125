# shellcheck shell=bash
# Shared by bench/run.sh and bench/wan.sh (sourced, not run): their common options, the work
# directory and build, starting and stopping bench/fakehubs, and timing one whole process under
# GNU time. Expects ROOT to be set; bench_setup sets WORK and BIN, which the rest use.
# The upper-case variables the functions set are read by the scripts that source this file.
# shellcheck disable=SC2034

# parse_options NAME HELP-LINES ARGS...: reads the options both scripts take into QUICK (--quick),
# REPEAT (--repeat N) and CASES (--cases LIST); -h/--help prints lines HELP-LINES (sed range) of
# the script. Any other argument goes to the script's own script_option ARGS... if it defines
# one, which sets OPT_ARGS to the number of arguments it took; otherwise (or if it took none) the
# argument is unknown and the script exits with status 2.
parse_options() {
	local name=$1 help=$2
	shift 2
	while [[ $# -gt 0 ]]; do
		OPT_ARGS=1
		case "$1" in
		--quick) QUICK=1 ;;
		--repeat) REPEAT="$2"; OPT_ARGS=2 ;;
		--cases) CASES="$2"; OPT_ARGS=2 ;;
		-h | --help) sed -n "${help}p" "$0"; exit 0 ;;
		*)
			OPT_ARGS=0
			if declare -F script_option >/dev/null; then script_option "$@"; fi
			if [[ $OPT_ARGS == 0 ]]; then echo "$name: unknown argument $1" >&2; exit 2; fi
			;;
		esac
		shift "$OPT_ARGS"
	done
}

# bench_setup NAME WORK-PREFIX: checks for GNU time, picks GO, makes the work directory WORK
# (removed on exit, along with any fakehubs still running) with BIN in it, and sets GiB and MiB.
bench_setup() {
	local name=$1 prefix=$2
	if [[ ! -x /usr/bin/time ]] || ! /usr/bin/time -v true >/dev/null 2>&1; then
		echo "$name: needs GNU time at /usr/bin/time (Debian/Ubuntu: apt-get install time)" >&2
		exit 2
	fi
	GO=${GO:-go}
	command -v "$GO" >/dev/null || GO=/usr/local/go/bin/go
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
	BIN=$WORK/bin
	FH_PID=
	trap bench_cleanup EXIT
	GiB=$((1 << 30))
	MiB=$((1 << 20))
}

bench_cleanup() {
	if [[ -n "$FH_PID" ]]; then kill "$FH_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}

# build_bins PACKAGES...: builds hf2ms, bench/fakehubs and the given packages into BIN.
build_bins() {
	echo "== building (go build) into $BIN"
	(cd "$ROOT" && "$GO" build -o "$BIN/" ./cmd/hf2ms ./bench/fakehubs "$@")
}

# machine_header LINES...: the "== machine" section: the given lines, then the Go version and
# the commit measured.
machine_header() {
	echo "== machine"
	printf '%s\n' "$@"
	echo "go: $("$GO" version | cut -d' ' -f3), commit: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
}

# launch_fakes NAME FAKEHUBS-ARGS...: start bench/fakehubs with the given arguments and wait
# until it is ready; sets FH_PID, FH_HF, FH_MS, FH_SOURCE, FH_BYTES, FH_FILES.
launch_fakes() {
	local name=$1
	shift
	rm -f "$WORK/ctl" "$WORK/fh.out"
	mkfifo "$WORK/ctl"
	"$BIN/fakehubs" "$@" -out "$WORK/manifest.json" <"$WORK/ctl" >"$WORK/fh.out" 2>"$WORK/fh.err" &
	FH_PID=$!
	exec 9>"$WORK/ctl"
	while ! grep -q '^ready$' "$WORK/fh.out" 2>/dev/null; do
		if ! kill -0 "$FH_PID" 2>/dev/null; then
			echo "$name: fakehubs failed:" >&2
			cat "$WORK/fh.err" >&2
			exit 1
		fi
		sleep 0.2
	done
	FH_HF=$(sed -n 's/^HF_ENDPOINT=//p' "$WORK/fh.out")
	FH_MS=$(sed -n 's/^MODELSCOPE_ENDPOINT=//p' "$WORK/fh.out")
	FH_SOURCE=$(sed -n 's/^SOURCE=//p' "$WORK/fh.out")
	FH_BYTES=$(sed -n 's/^BYTES=//p' "$WORK/fh.out")
	FH_FILES=$(sed -n 's/^FILES=//p' "$WORK/fh.out")
}

stop_fakes() {
	exec 9>&-
	wait "$FH_PID" 2>/dev/null || true
	FH_PID=
}

# timed NAME CMD...: runs CMD under /usr/bin/time -v; sets T_SECS, T_RSS_MIB, T_WRITE, T_RC.
# CMD's stdout and stderr go through pipes (not straight into files) so that the disk writes
# counted are the process's own and not its log output.
timed() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	set +e
	HF_ENDPOINT=$FH_HF MODELSCOPE_ENDPOINT=$FH_MS \
		HF_TOKEN=hf_bench_token_for_the_fake_hub_only MODELSCOPE_TOKEN=ms-bench-token-for-the-fake-hub-only \
		/usr/bin/time -v -o "$WORK/$name.time" "$@" > >(cat >"$WORK/$name.out") 2> >(cat >"$WORK/$name.err")
	T_RC=$?
	set -e
	t1=$(date +%s.%N)
	T_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
	T_RSS_MIB=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$WORK/$name.time")
	T_WRITE=$(awk -F': ' '/File system outputs/ {printf "%d", $2 * 512}' "$WORK/$name.time")
}

# keep_run WHAT ERR: after one timed run in a script's measure loop. If it failed, prints
# "FAILED: WHAT" with its exit status and the tail of $WORK/ERR.err, sets FAILED=1, clears
# M_SECS and returns 1; otherwise keeps the fastest time so far in M_BEST and the peaks in M_RSS
# and M_WRITE.
keep_run() {
	local what=$1 err=$2
	if [[ $T_RC != 0 ]]; then
		echo "FAILED: $what (exit $T_RC):" >&2
		tail -n 20 "$WORK/$err.err" >&2
		FAILED=1
		M_SECS=
		return 1
	fi
	if [[ -z "$M_BEST" ]] || awk -v a="$T_SECS" -v b="$M_BEST" 'BEGIN {exit !(a < b)}'; then M_BEST=$T_SECS; fi
	((T_RSS_MIB > M_RSS)) && M_RSS=$T_RSS_MIB
	((T_WRITE > M_WRITE)) && M_WRITE=$T_WRITE
	return 0
}

# Shared by bench/run.sh and bench/wan.sh (sourced, not run): starting and stopping
# bench/fakehubs, and timing one whole process under GNU time. Expects WORK and BIN to be set.

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

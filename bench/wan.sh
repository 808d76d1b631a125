#!/usr/bin/env bash
# bench/wan.sh (also: bench/run.sh --wan): hf2ms across modelled wide-area links.
#
#   bash bench/run.sh --wan            # full: 4 GiB file, 32 x 128 MiB, 5,000 small files (about 1.5 h)
#   bash bench/run.sh --wan --quick    # 512 MiB, 8 x 64 MiB, 1,000 small files (about 12 min)
#   options: --profiles "cdn-edge transpacific-ms fast-region", --cases "large multi small",
#            --repeat N (best of N)
#
# For every profile (internal/wan) and case, in both directions, bench/fakehubs serves both fake
# hubs with every host (API and storage) behind the profile's link, on loopback: per-connection
# download and upload caps, a per-host cap, a handshake per connection and a round trip per
# request. Two processes are measured, each against fresh fakes, under /usr/bin/time -v:
#   hf2ms    hf2ms migrate with its defaults (adaptive ranged reads, per-host budget)
#   1-conn   hf2ms migrate --connections 1 --host-connections 1: each file over one connection,
#            8 small files at once (the one-connection-per-file approach of other tools, streaming)
# and a 'setup' run (one 1 MiB file) gives the fixed cost of a run on that link (round trips of
# planning, commit and verification), measured in the same run.
# The limit is what the profile allows the case (bench/wanlimit: caps x connections, the
# destination's single-stream upload); 'ratio' is hf2ms's rate over it, 'x1conn' hf2ms's rate over
# the 1-conn rate. Exits non-zero only when a migration fails; a missed target prints MISSED.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

QUICK=0
REPEAT=1
CASES="large multi small"
PROFILES="cdn-edge transpacific-ms fast-region"
# script_option: the options only this script takes (--wan is how bench/run.sh hands over).
script_option() {
	case "$1" in
	--wan) OPT_ARGS=1 ;;
	--profiles) PROFILES="$2"; OPT_ARGS=2 ;;
	esac
}
parse_options wan.sh 2,22 "$@"
bench_setup wan.sh hf2ms-wan

if [[ $QUICK == 1 ]]; then
	LARGE_SIZE=$((512 * MiB)) MULTI_COUNT=8 MULTI_SIZE=$((64 * MiB)) SMALL_COUNT=1000
else
	LARGE_SIZE=$((4 * GiB)) MULTI_COUNT=32 MULTI_SIZE=$((128 * MiB)) SMALL_COUNT=5000
fi
FILES=4       # files in flight (hf2ms's default)
PER_FILE=8    # hf2ms's default --connections
HOST_CONNS=16 # hf2ms's default --host-connections

build_bins ./bench/wanlimit

machine_header "cpus: $(nproc), load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: compare within this run)"
for p in $PROFILES; do "$BIN/wanlimit" -profile "$p" | sed -n 's/^PROFILE=/profile /p'; done
echo

# start_fakes PROFILE CASE SRC SEED: fresh fakes behind PROFILE, seeded for CASE on hub SRC.
start_fakes() {
	local prof=$1 c=$2 src=$3 seed=$4 args
	case $c in
	large) args=(-size "$LARGE_SIZE" -count 1) ;;
	multi) args=(-size "$MULTI_SIZE" -count "$MULTI_COUNT") ;;
	small) args=(-count "$SMALL_COUNT" -small-size 4096) ;;
	setup) args=(-size "$MiB" -count 1) c=large ;;
	esac
	launch_fakes wan.sh -wan "$prof" -case "$c" -src "$src" -seed "$seed" "${args[@]}"
}

FAILED=0
ROWS=()
SEED=1
# measure TOOL PROFILE CASE SRC: best of $REPEAT runs against fresh fakes; sets M_* variables.
measure() {
	local tool=$1 prof=$2 c=$3 src=$4 to extra=()
	[[ $src == hf ]] && to=ms || to=hf
	[[ $tool == 1-conn ]] && extra=(--connections 1 --host-connections 1)
	M_SECS='' M_BEST='' M_RSS=0 M_WRITE=0
	for ((r = 0; r < REPEAT; r++)); do
		SEED=$((SEED + 1))
		start_fakes "$prof" "$c" "$src" "$SEED"
		timed run "$BIN/hf2ms" migrate "$FH_SOURCE" --to "$to" --dest "bench/$c-$tool" --files "$FILES" "${extra[@]}"
		stop_fakes
		keep_run "$tool $prof $c $src->$to" run || return 0
		printf '   %-7s run %d: %8.2f s  peak RSS %4s MiB  disk writes %s B\n' "$tool" $((r + 1)) "$T_SECS" "$T_RSS_MIB" "$T_WRITE"
	done
	M_SECS=$M_BEST
}

mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b / s / 1e6}'; }
HDRFMT='%-15s %-6s %-6s %7s %-34s %7s %6s %8s %7s %6s %7s %5s  %s'
printf -v HDR "$HDRFMT" profile case dir 'limit' 'bottleneck (model)' 'hf2ms' ratio 'ratio-s' '1-conn' x1conn files/s RSS target
for prof in $PROFILES; do
	for src in hf ms; do
		[[ $src == hf ]] && dir=HF-MS || dir=MS-HF
		echo "== $prof $dir: setup (one 1 MiB file: the fixed cost of a run on this link)"
		measure hf2ms "$prof" setup "$src"
		setup=${M_SECS:-0}
		for c in $CASES; do
			echo "== $prof $c $dir"
			measure hf2ms "$prof" "$c" "$src"
			h_s=$M_SECS h_rss=$M_RSS h_write=$M_WRITE
			bytes=$FH_BYTES files=$FH_FILES
			measure 1-conn "$prof" "$c" "$src"
			b_s=$M_SECS
			if [[ -z "$h_s" || -z "$b_s" ]]; then
				ROWS+=("$(printf '%-15s %-6s %-6s %s' "$prof" "$c" "$dir" 'FAILED (see above)')")
				continue
			fi
			conns=$((PER_FILE * (files < FILES ? files : FILES)))
			((conns > HOST_CONNS)) && conns=$HOST_CONNS
			eval "$("$BIN/wanlimit" -profile "$prof" -files "$files" -bytes "$bytes" -inflight "$FILES" -conns "$conns" |
				grep -E '^(LIMIT|ONECONN|RTT_MS)=')"
			bott=$("$BIN/wanlimit" -profile "$prof" -files "$files" -inflight "$FILES" -conns "$conns" | sed -n 's/^BOTTLENECK=//p')
			one_bott=$("$BIN/wanlimit" -profile "$prof" -files "$files" -inflight "$FILES" -conns "$conns" | sed -n 's/^ONECONN_BOTTLENECK=//p')
			h=$(mbps "$bytes" "$h_s") b=$(mbps "$bytes" "$b_s")
			fps=$(awk -v n="$files" -v s="$h_s" 'BEGIN {printf "%.0f", n / s}')
			x1=$(awk -v a="$b_s" -v b="$h_s" 'BEGIN {printf "%.2f", a / b}')
			miss=()
			if [[ $c == small ]]; then
				limit=- ratio=- ratio_s=- bott="round trips ($RTT_MS ms)"
				if ((RTT_MS <= 80)); then ((fps >= 100)) || miss+=("files/s<100"); fi
			else
				limit=$(awk -v l="$LIMIT" 'BEGIN {printf "%.0f", l / 1e6}')
				ratio=$(awk -v b="$bytes" -v s="$h_s" -v l="$LIMIT" 'BEGIN {printf "%.2f", b / s / l}')
				ratio_s=$(awk -v b="$bytes" -v s="$h_s" -v z="$setup" -v l="$LIMIT" 'BEGIN {d = s - z; if (d <= 0) d = s; printf "%.2f", b / d / l}')
				awk -v r="$ratio" 'BEGIN {exit !(r >= 0.85)}' || miss+=("ratio<0.85")
				# >= 3x the one-connection approach wherever the per-connection cap holds that
				# approach to a third of the limit or less.
				if [[ $one_bott == *per-connection* ]] && awk -v l="$LIMIT" -v o="$ONECONN" 'BEGIN {exit !(l >= 3 * o)}'; then
					awk -v r="$x1" 'BEGIN {exit !(r >= 3)}' || miss+=("x1conn<3")
				fi
			fi
			((h_rss < 200)) || miss+=("RSS>=200MiB")
			((h_write < 65536)) || miss+=("disk")
			verdict=yes
			((${#miss[@]})) && verdict="MISSED (${miss[*]})"
			ROWS+=("$(printf "$HDRFMT" "$prof" "$c" "$dir" "$limit" "$bott" "$h" "$ratio" "$ratio_s" "$b" "${x1}x" "$fps" "$h_rss" "$verdict")")
		done
	done
done

echo
echo "== results (MB/s = 10^6 bytes/s; hf2ms and 1-conn are whole-process rates; best of $REPEAT run(s))"
echo "$HDR"
for r in "${ROWS[@]}"; do echo "$r"; done
echo
echo "limit: what the profile allows the case (caps x connections: $PER_FILE per file, $HOST_CONNS per host, $FILES files in flight;"
echo "       the destination takes each file as one stream); ratio = hf2ms / limit over the whole run;"
echo "       ratio-s = the same with the run's fixed cost on this link (the 'setup' run) taken off hf2ms's time."
echo "targets: ratio >= 0.85 (large, multi); x1conn >= 3 where the per-connection cap holds 1-conn to a third"
echo "         of the limit; small >= 100 files/s at <= 80 ms round trips; peak RSS < 200 MiB; no file data on disk"
if [[ $FAILED != 0 ]]; then
	echo "a migration FAILED (see above)"
	exit 1
fi

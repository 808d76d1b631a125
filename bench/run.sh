#!/usr/bin/env bash
# bench/run.sh: whole-process performance benchmark of hf2ms against two fake hubs.
#
#   bash bench/run.sh            # full run: 8 GiB file, 64 x 128 MiB, 20,000 small files, 100,000-file plan
#   bash bench/run.sh --quick    # CI-sized: 1 GiB, 8 x 128 MiB, 2,000 small files, 10,000-file plan
#   options: --repeat N (runs of each measurement, best kept; default 1), --cases "large multi small plan"
#   bash bench/run.sh --wan [--quick]   # across modelled wide-area links instead: see bench/wan.sh
#
# For every case and direction (HF->MS, MS->HF) it starts bench/fakehubs in a separate process
# (fresh fakes each time, so nothing is deduplicated), then measures three processes in turn:
#   raw      bench/rawcopy: plain GET from the source fake -> PUT to a sink (the limit)
#   hf2ms    hf2ms migrate (plan, stream with SHA-256 verification, commit, verify)
#   baseline bench/diskcopy: download everything to a temp dir, then upload it (the earlier tool)
# under /usr/bin/time -v (peak RSS, and "File system outputs" x 512 = the process's write_bytes).
# Exits non-zero only when a migration fails; a missed target is printed as MISSED.
set -euo pipefail
for a in "$@"; do [[ $a == --wan ]] && exec bash "$(dirname "$0")/wan.sh" "$@"; done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

QUICK=0
REPEAT=1
CASES="large multi small plan"
parse_options run.sh 2,18 "$@"
bench_setup run.sh hf2ms-bench

if [[ $QUICK == 1 ]]; then
	LARGE_SIZE=$GiB MULTI_COUNT=8 SMALL_COUNT=2000 PLAN_COUNT=10000
else
	LARGE_SIZE=$((8 * GiB)) MULTI_COUNT=64 SMALL_COUNT=20000 PLAN_COUNT=100000
fi
MULTI_SIZE=$((128 * MiB))
FILES=${FILES:-4} # files in flight, the same for all three tools (hf2ms's default)

build_bins ./bench/rawcopy ./bench/diskcopy

machine_header "cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
	"memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')" \
	"load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared: figures are ratios within this run)"
echo

# start_fakes CASE SRC SEED: start bench/fakehubs seeded for CASE on hub SRC; sets FH_* variables.
start_fakes() {
	local c=$1 src=$2 seed=$3 args
	case $c in
	large) args=(-size "$LARGE_SIZE" -count 1) ;;
	multi) args=(-size "$MULTI_SIZE" -count "$MULTI_COUNT") ;;
	small) args=(-count "$SMALL_COUNT" -small-size 4096) ;;
	plan) args=(-count "$PLAN_COUNT" -small-size 256) ;;
	esac
	launch_fakes run.sh -case "$c" -src "$src" -seed "$seed" "${args[@]}"
}

FAILED=0
ROWS=()
SEED=1
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.0f", b / s / 1e6}'; }
human() { awk -v b="$1" 'BEGIN {if (b < 1e6) printf "%d B", b; else if (b < 1e9) printf "%.1f MB", b / 1e6; else printf "%.2f GB", b / 1e9}'; }

# measure TOOL CASE SRC DEST: best of $REPEAT runs of TOOL against fresh fakes; sets M_* variables.
measure() {
	local tool=$1 c=$2 src=$3 dest=$4 to
	[[ $src == hf ]] && to=ms || to=hf
	M_SECS='' M_BEST='' M_RSS=0 M_WRITE=0
	for ((r = 0; r < REPEAT; r++)); do
		SEED=$((SEED + 1))
		start_fakes "$c" "$src" "$SEED"
		case $tool in
		raw) timed raw "$BIN/rawcopy" -manifest "$WORK/manifest.json" -files "$FILES" ;;
		hf2ms) timed hf2ms "$BIN/hf2ms" migrate "$FH_SOURCE" --to "$to" --dest "$dest" --files "$FILES" ;;
		dryrun) timed hf2ms "$BIN/hf2ms" migrate "$FH_SOURCE" --to "$to" --dest "$dest" --dry-run ;;
		baseline) timed baseline "$BIN/diskcopy" -manifest "$WORK/manifest.json" -dest "$dest" -files "$FILES" -dir "$WORK" ;;
		esac
		stop_fakes
		keep_run "$tool $c $src->$to" "${tool/dryrun/hf2ms}" || return 0
		printf '   %-8s run %d: %7.2f s  peak RSS %4s MiB  disk writes %s\n' "$tool" $((r + 1)) "$T_SECS" "$T_RSS_MIB" "$(human "$T_WRITE")"
	done
	M_SECS=$M_BEST
}

printf -v HDR '%-6s %-7s %8s %8s %6s %9s %8s %8s %8s %10s  %s' \
	case dir 'raw MB/s' 'hf2ms' ratio 'base MB/s' speed-up files/s 'RSS MiB' 'disk write' target
for c in $CASES; do
	for src in hf ms; do
		[[ $src == hf ]] && dir=HF-MS || dir=MS-HF
		[[ $src == hf ]] && to=ms || to=hf
		if [[ $c == plan ]]; then
			[[ $src == ms ]] && continue # planning cost: one 100,000-file Hugging Face listing
			echo "== plan: list and plan $PLAN_COUNT files ($dir, hf2ms migrate --dry-run)"
			measure dryrun plan "$src" bench/plan-copy
			[[ -z "$M_SECS" ]] && continue
			miss=()
			awk -v s="$M_SECS" 'BEGIN {exit !(s < 10)}' || miss+=("time>=10s")
			((M_RSS < 300)) || miss+=("RSS>=300MiB")
			((M_WRITE < 65536)) || miss+=("disk")
			verdict=yes
			((${#miss[@]})) && verdict="MISSED (${miss[*]})"
			ROWS+=("$(printf '%-6s %-7s %8s %8s %6s %9s %8s %8s %8s %10s  %s' plan "$dir" - "${M_SECS}s" - - - \
				"$(awk -v n="$PLAN_COUNT" -v s="$M_SECS" 'BEGIN {printf "%.0f", n / s}')" "$M_RSS" "$(human "$M_WRITE")" "$verdict")")
			continue
		fi
		echo "== $c $dir"
		measure raw "$c" "$src" "bench/$c-raw"
		raw_s=$M_SECS
		measure hf2ms "$c" "$src" "bench/$c-copy"
		h_s=$M_SECS h_rss=$M_RSS h_write=$M_WRITE
		measure baseline "$c" "$src" "bench/$c-disk"
		b_s=$M_SECS
		if [[ -z "$raw_s" || -z "$h_s" || -z "$b_s" ]]; then
			ROWS+=("$(printf '%-6s %-7s %s' "$c" "$dir" 'FAILED (see above)')")
			continue
		fi
		bytes=$FH_BYTES files=$FH_FILES
		raw=$(mbps "$bytes" "$raw_s") h=$(mbps "$bytes" "$h_s") b=$(mbps "$bytes" "$b_s")
		ratio=$(awk -v a="$raw_s" -v b="$h_s" 'BEGIN {printf "%.2f", a / b}')
		speedup=$(awk -v a="$b_s" -v b="$h_s" 'BEGIN {printf "%.2f", a / b}')
		fps=$(awk -v n="$files" -v s="$h_s" 'BEGIN {printf "%.0f", n / s}')
		miss=()
		case $c in
		large | multi)
			awk -v r="$ratio" 'BEGIN {exit !(r >= 0.7)}' || miss+=("ratio<0.7")
			if [[ $c == large ]]; then awk -v r="$speedup" 'BEGIN {exit !(r >= 2)}' || miss+=("speed-up<2"); fi
			;;
		small) ((fps >= 200)) || miss+=("files/s<200") ;;
		esac
		((h_rss < 150)) || miss+=("RSS>=150MiB")
		((h_write < 65536)) || miss+=("disk")
		verdict=yes
		((${#miss[@]})) && verdict="MISSED (${miss[*]})"
		ROWS+=("$(printf '%-6s %-7s %8s %8s %6s %9s %8s %8s %8s %10s  %s' "$c" "$dir" "$raw" "$h" "$ratio" "$b" "${speedup}x" "$fps" "$h_rss" "$(human "$h_write")" "$verdict")")
	done
done

echo
echo "== results (MB = 10^6 bytes; RSS and disk writes are the hf2ms process's own; best of $REPEAT run(s) each)"
echo "$HDR"
for r in "${ROWS[@]}"; do echo "$r"; done
echo
echo "targets: large/multi ratio >= 0.70 of raw; large >= 2x baseline; small >= 200 files/s;"
echo "         hf2ms peak RSS < 150 MiB and no file data written (write_bytes < 64 KiB: the kernel"
echo "         now and then charges a stray 4 KiB page to any process); plan < 10 s and < 300 MiB"
if [[ $FAILED != 0 ]]; then
	echo "a migration FAILED (see above)"
	exit 1
fi

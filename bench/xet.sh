#!/usr/bin/env bash
# bench/xet.sh: Xet read and write rates beside the LFS bridge / plain LFS path and raw loopback
# HTTP, in one run, each case in its own process (so maxrss-MiB is that case's peak RSS).
#
#   bash bench/xet.sh                 # 256 MiB of random data, best of 2 iterations per case
#   XET_BENCH_MIB=1024 bash bench/xet.sh
#
# The cases are sub-benchmarks of BenchmarkXet in pkg/hub/xet_bench_test.go. The fake Hub, its
# fake CAS and the data all live in the benchmark process, so maxrss-MiB counts them too (the
# data alone is XET_BENCH_MIB; the fakes hold another copy or two); peak-heap-MiB is the heap
# peak while the case ran.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hf2ms-xetbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
GO=${GO:-go}
export XET_BENCH_MIB=${XET_BENCH_MIB:-256}
(cd "$ROOT" && "$GO" test -c -o "$WORK/hub.test" ./pkg/hub)
echo "== BenchmarkXet, ${XET_BENCH_MIB} MiB, $(nproc) CPUs, $(date -u +%FT%TZ)"
for c in read/raw read/bridge read/xet write/raw write/lfs write/xet write/xet-edited; do
	(cd "$ROOT/pkg/hub" && "$WORK/hub.test" -test.run '^$' -test.bench "^BenchmarkXet/${c}\$" -test.benchtime 2x) | grep '^BenchmarkXet'
done

#!/usr/bin/env bash
# Runs the official @huggingface/hub JavaScript client (pinned in package-lock.json) against the
# fake Hub (pkg/hub/hubtest) and propagates the result. Needs Go, node >= 20 and npm; the only
# network access is `npm ci`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
fake_pid=""
cleanup() {
  if [[ -n "$fake_pid" ]] && kill -0 "$fake_pid" 2>/dev/null; then
    kill -TERM "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$root" && go build -o "$work/fakehub" ./conformance/hfjs/fakehub && go build -o "$work/xetpeer" ./conformance/hfjs/xetpeer)
export XETPEER="$work/xetpeer"

mkfifo "$work/stdin"
"$work/fakehub" <"$work/stdin" >"$work/fakehub.out" 2>"$work/fakehub.err" &
fake_pid=$!
exec 3>"$work/stdin" # holds the fake's stdin open; closing it stops the fake

for _ in $(seq 1 100); do
  [[ -s "$work/fakehub.out" ]] && break
  if ! kill -0 "$fake_pid" 2>/dev/null; then
    echo "run.sh: fakehub exited early:" >&2
    cat "$work/fakehub.err" >&2
    exit 1
  fi
  sleep 0.1
done
FAKEHUB="$(head -n1 "$work/fakehub.out")"
if [[ -z "$FAKEHUB" ]]; then
  echo "run.sh: fakehub printed nothing" >&2
  exit 1
fi
export FAKEHUB

status=0
(cd "$here" && node run.mjs) || status=$?

exec 3>&- # close the fake's stdin: it stops and reports credential leaks
fake_status=0
wait "$fake_pid" || fake_status=$?
fake_pid=""
cat "$work/fakehub.err" >&2
if [[ $fake_status -ne 0 ]]; then
  echo "run.sh: fakehub exited with $fake_status (3 = credentials were sent to the storage host)" >&2
  [[ $status -eq 0 ]] && status=$fake_status
fi
exit $status

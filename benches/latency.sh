#!/usr/bin/env bash
# latency.sh — time of "new connection + full TLS 1.3 handshake + GET /small.txt" with P parallel
# curl loops, sserve vs openssl s_server in the same run (interleaved rounds, fresh server each).
#
# Usage: benches/latency.sh [SSERVE_BIN]   (default target/release/sserve)
# Env: P=8 parallel loops, N=100 requests per loop, ROUNDS=3.
# Prints per round and side the median and p90 latency in ms, then the ratio of medians.
set -euo pipefail
BIN=${1:-target/release/sserve}
BIN=$(readlink -f "$BIN")
P=${P:-8}; N=${N:-100}; ROUNDS=${ROUNDS:-3}
source "$(dirname "$0")/scratch.sh"

run_side() { # $1=name $2..=server command
  local name=$1; shift
  local port; port=$(free_port)
  (cd "$WORK/www" && exec "$@" -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -WWW -quiet \
     >/dev/null 2>&1 </dev/null) &
  local pid=$!
  for _ in $(seq 50); do curl -sk --max-time 1 "https://127.0.0.1:$port/small.txt" >/dev/null 2>&1 && break; sleep 0.1; done
  local out="$WORK/$name.times"; : > "$out"
  for _ in $(seq "$P"); do
    ( for _ in $(seq "$N"); do
        curl -sk --tlsv1.3 --max-time 10 -o /dev/null -w '%{time_total}\n' "https://127.0.0.1:$port/small.txt" || echo 10
      done >> "$out.$BASHPID" ) &
  done
  wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
  cat "$out".* > "$out"; rm -f "$out".*
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  sort -n "$out" | awk -v name="$name" '{a[NR]=$1} END {printf "%s median_ms=%.2f p90_ms=%.2f n=%d\n", name, a[int(NR/2)+1]*1000, a[int(NR*0.9)]*1000, NR}'
}

for r in $(seq "$ROUNDS"); do
  echo "round $r"
  run_side sserve "$BIN" | tee -a "$WORK/summary"
  run_side s_server openssl s_server | tee -a "$WORK/summary"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(grep '^sserve' "$WORK/summary" | sed -E 's/.*median_ms=([0-9.]+).*/\1/' | median)
mo=$(grep '^s_server' "$WORK/summary" | sed -E 's/.*median_ms=([0-9.]+).*/\1/' | median)
awk -v s="$ms" -v o="$mo" 'BEGIN {printf "median of medians: sserve %.2f ms, s_server %.2f ms, ratio sserve/s_server = %.3f\n", s, o, s/o}'

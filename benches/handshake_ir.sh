#!/usr/bin/env bash
# handshake_ir.sh — server instructions per connection (full TLS 1.3 handshake + GET of a small
# file in -WWW mode, then close), sserve vs openssl s_server, counted by callgrind. Instruction
# counts do not depend on machine load, unlike the CPU times of ab.sh on a shared VM.
# Start-up cost is removed by running each server twice (-naccept N1 and N2) and taking the
# difference. Valgrind runs threads one at a time, so this counts work, not parallelism.
# Valgrind does not know openat2, so under it sserve opens each file by its portable fallback
# (canonicalise, check the prefix, open): about 2,500 instructions per request that a real run,
# confined by openat2, does not spend.
#
# Usage: benches/handshake_ir.sh [SSERVE_BIN]  (env: N1=10 N2=110, RESUME=0|1, SSERVE_ARGS;
# KEEP=1 keeps the callgrind profiles, cg.<side>.<n>, for callgrind_annotate; CACHE=1 also
# simulates the first-level caches and reports instruction-cache (I1) and data-cache (D1) misses
# per connection: code that runs once per connection is cold each time, so a larger code
# footprint costs time that the instruction count does not show)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-target/release/sserve}")
N1=${N1:-10}; N2=${N2:-110}; RESUME=${RESUME:-0}; CACHE=${CACHE:-0}
sim=(); [[ $CACHE == 1 ]] && sim=(--cache-sim=yes)
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 2; }
source "$(dirname "$0")/scratch.sh"

clients() { # port n: n sequential connections, each GET /small.txt then close
  python3 benches/seq_client.py "$1" "$2" "$RESUME"
}

ir() { # name n cmd...: "instructions I1-misses D1-misses" of a server run that accepts n
  # connections (the misses are 0 without CACHE=1)
  local name=$1 n=$2; shift 2
  local port; port=$(free_port)
  (cd "$WORK/www" && exec valgrind --tool=callgrind "${sim[@]}" --callgrind-out-file="$WORK/cg.$name.$n" \
     "$@" -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -WWW -quiet -naccept "$n" \
     >/dev/null 2>"$WORK/vg.$name.$n" </dev/null) &
  local pid=$!
  clients "$port" "$n"
  wait "$pid" || true
  # Collected: Ir, and with the cache simulation Dr Dw I1mr D1mr D1mw ...
  awk '/Collected/ {print $4, ($7 == "" ? 0 : $7), ($8 + $9)}' "$WORK/vg.$name.$n"
}

declare -A total i1 d1
for side in sserve s_server; do
  if [[ $side == sserve ]]; then cmd=("$BIN" ${SSERVE_ARGS:-}); else cmd=(openssl s_server); fi
  read -r a ia da <<<"$(ir "$side" "$N1" "${cmd[@]}")"
  read -r b ib db <<<"$(ir "$side" "$N2" "${cmd[@]}")"
  total[$side]=$(( (b - a) / (N2 - N1) ))
  echo "$side: $(( total[$side] )) instructions per connection (runs of $N1 and $N2 connections: $a, $b)"
  if [[ $CACHE == 1 ]]; then
    i1[$side]=$(( (ib - ia) / (N2 - N1) )); d1[$side]=$(( (db - da) / (N2 - N1) ))
    echo "$side: ${i1[$side]} I1 misses, ${d1[$side]} D1 misses per connection"
  fi
done
awk -v a="${total[sserve]}" -v b="${total[s_server]}" -v r="$RESUME" \
  'BEGIN { printf "ratio sserve / s_server (%s handshakes + GET): %.3f\n", r == "1" ? "resumed" : "full", a / b }'
if [[ $CACHE == 1 ]]; then
  awk -v a="${i1[sserve]}" -v b="${i1[s_server]}" -v c="${d1[sserve]}" -v d="${d1[s_server]}" \
    'BEGIN { printf "ratio sserve / s_server: I1 misses %.3f, D1 misses %.3f\n", a / b, c / d }'
fi
[[ -z ${KEEP:-} ]] || echo "profiles kept in $WORK"

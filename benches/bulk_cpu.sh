#!/usr/bin/env bash
# bulk_cpu.sh — server CPU seconds per GB and MB/s of a large transfer, sserve vs openssl
# s_server in the same run (interleaved rounds, fresh server each, same certificate): by default a
# -WWW download (curl); with DIRECTION=up an upload, which Python's ssl writes to the server in
# console mode, where both servers copy what they receive to stdout (here /dev/null).
#
# Usage: benches/bulk_cpu.sh [SSERVE_BIN]   (default target/release/sserve)
# Env: MB=256 file size, REPS=2 transfers per side and round, ROUNDS=3, DIRECTION=down|up,
#      CIPHERS="TLS_AES_128_GCM_SHA256 TLS_CHACHA20_POLY1305_SHA256",
#      BASELINE="openssl s_server" (the other side: another sserve build to A/B two builds).
# Server CPU is utime+stime of the server process (/proc/PID/stat) over the transfers only.
# Prints one line per side and round, then per cipher the median ratios sserve / baseline.
set -euo pipefail
BIN=${1:-target/release/sserve}
BIN=$(readlink -f "$BIN")
MB=${MB:-256}; REPS=${REPS:-2}; ROUNDS=${ROUNDS:-3}; DIRECTION=${DIRECTION:-down}
CIPHERS=${CIPHERS:-"TLS_AES_128_GCM_SHA256 TLS_CHACHA20_POLY1305_SHA256"}
BASELINE=${BASELINE:-"openssl s_server"}
UPLOAD="$(cd "$(dirname "$0")" && pwd)/upload.py"
source "$(dirname "$0")/scratch.sh"
head -c $((MB * 1024 * 1024)) /dev/urandom > "$WORK/www/big.bin"
CLK_TCK=$(getconf CLK_TCK)
# The console servers' stdin: a pipe whose writer (sleep) keeps it open until the script ends.
mkfifo "$WORK/stdin"; sleep 100000 >"$WORK/stdin" &
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

upload() { # port cipher [file]: see upload.py
  python3 "$UPLOAD" "$@"
}

run_side() { # $1=name $2=cipher $3..=server command; prints "name cipher mbps cpu_s_per_gb"
  local name=$1 cipher=$2; shift 2
  local port; port=$(free_port)
  if [[ $DIRECTION == up ]]; then
    # Console mode; its stdin stays open (at EOF a -quiet s_server would poll it in a loop).
    (cd "$WORK/www" && exec "$@" -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -quiet \
       -ciphersuites "$cipher" >/dev/null 2>&1 <"$WORK/stdin") &
  else
    (cd "$WORK/www" && exec "$@" -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -WWW -quiet \
       >/dev/null 2>&1 </dev/null) &
  fi
  local pid=$!
  for _ in $(seq 50); do
    if [[ $DIRECTION == up ]]; then upload "$port" "$cipher" 2>/dev/null && break
    else curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$port/big.bin" -r 0-0 2>/dev/null && break; fi
    sleep 0.1
  done
  local c0 t0 t1 c1
  c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
  for _ in $(seq "$REPS"); do
    if [[ $DIRECTION == up ]]; then upload "$port" "$cipher" "$WORK/www/big.bin"
    else curl -sk --tlsv1.3 --tls13-ciphers "$cipher" --max-time 120 -o /dev/null "https://127.0.0.1:$port/big.bin"; fi
  done
  t1=$(date +%s.%N); c1=$(cpu_ticks "$pid")
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  awk -v n="$name" -v c="$cipher" -v mb="$MB" -v reps="$REPS" -v t0="$t0" -v t1="$t1" -v ticks=$((c1 - c0)) -v hz="$CLK_TCK" \
    'BEGIN { gb = mb * reps / 1024; printf "%s %s mbps=%.1f cpu_s_per_gb=%.3f\n", n, c, mb * reps / (t1 - t0), ticks / hz / gb }'
}

out="$WORK/results"; : > "$out"
for r in $(seq "$ROUNDS"); do
  for c in $CIPHERS; do
    # Alternate which side goes first, so drift on a noisy machine hits both alike.
    if (( r % 2 )); then
      run_side sserve "$c" "$BIN" | tee -a "$out"; run_side baseline "$c" $BASELINE | tee -a "$out"
    else
      run_side baseline "$c" $BASELINE | tee -a "$out"; run_side sserve "$c" "$BIN" | tee -a "$out"
    fi
  done
done
python3 - "$out" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, cipher, mbps, cpu = line.split()
    rows[(name, cipher)].append((float(mbps.split('=')[1]), float(cpu.split('=')[1])))
for cipher in sorted({c for _, c in rows}):
    a, b = rows[('sserve', cipher)], rows[('baseline', cipher)]
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    print(f"{cipher}: MB/s {med(a,0):.0f} vs {med(b,0):.0f} (ratio {med(a,0)/med(b,0):.2f}); "
          f"server CPU s/GB {med(a,1):.2f} vs {med(b,1):.2f} (ratio {med(a,1)/med(b,1):.2f}, target <= 0.9)")
PY

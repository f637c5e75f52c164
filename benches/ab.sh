#!/usr/bin/env bash
# ab.sh — loopback A/B of sserve against openssl s_server, same certificate, same flags.
#
# Usage: benches/ab.sh [A-template B-template]
#   Defaults: A = target/release/sserve (built here), B = openssl s_server, both
#   '-accept {port} -cert {cert} -key {key} -WWW -quiet', started in a scratch document root.
#   Placeholders: {port} {cert} {key}.
#
# Method: ROUNDS rounds (default 3), interleaved A B B A A B …, each side on a fresh server so
# neither inherits the other's cache or heap. Before each side the script waits until the
# machine is quiet (CPU busy <= QUIET_PCT, default 20 %, for two seconds running, at most
# QUIET_MAX s); a side measured on a busy machine is repeated once and, if still busy, marked
# with '!' in the table. Reported: the median of the rounds per side with their range
# (min-max), and the ratio of the medians A/B.
#
# Measures (clients: openssl s_time and curl, all on 127.0.0.1):
#   full_hs/s     full TLS 1.3 handshakes per second (s_time -new, HS_TIME s, default 4)
#   cpu_us/hs     server CPU (user + system, /proc ticks) per handshake of that full_hs/s run
#   conc_hs/s     full handshakes per second of CLIENTS (default 8) s_time -new clients at once
#   resumed_hs/s  resumed handshakes with a small GET (s_time -reuse -www /small.txt)
#   bulk_MB/s     curl download of a BULK_MB MiB file (default 128), AES-128-GCM
#   ttfb_ms       median time to first byte of TTFB_N (default 50) new connections (curl)
#   rss_idle_kB   resident memory after start; rss_peak_kB peak after the round
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
HS_TIME=${HS_TIME:-4}
CLIENTS=${CLIENTS:-8}
BULK_MB=${BULK_MB:-128}
TTFB_N=${TTFB_N:-50}
QUIET_PCT=${QUIET_PCT:-20}
QUIET_MAX=${QUIET_MAX:-60}
for tool in openssl curl awk; do
  command -v "$tool" >/dev/null || { echo "ab.sh: $tool is needed" >&2; exit 2; }
done

source benches/ab_common.sh "$@"
head -c $((BULK_MB << 20)) /dev/zero > "$WORK/big.bin"
echo hello > "$WORK/small.txt"

busy_pct() { # machine CPU busy over one second
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  local total=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
wait_quiet() { # 0 when the machine was quiet for two seconds running
  local calm=0 waited=0
  while (( waited < QUIET_MAX )); do
    if (( $(busy_pct) <= QUIET_PCT )); then calm=$((calm + 1)); (( calm >= 2 )) && return 0; else calm=0; fi
    waited=$((waited + 1))
  done
  return 1
}

# Connections per second of one `openssl s_time` run (arguments added to its own). s_time runs
# until the wall clock passes HS_TIME and reports whole "real seconds" (4 or 5 for the same
# run length), so the rate divides its connection count by the wall time measured here.
# Prints "rate connections".
rate() {
  local t0 t1 n
  t0=$(date +%s%N)
  n=$(openssl s_time -connect "127.0.0.1:$PORT" -time "$HS_TIME" "$@" 2>/dev/null |
    awk '/real seconds/ {print $1}')
  t1=$(date +%s%N)
  awk -v n="${n:-0}" -v ns=$((t1 - t0)) 'BEGIN {printf "%.0f %d", n / (ns / 1e9), n}'
}

# Server CPU time in clock ticks (user + system) of process $1.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Full handshakes per second of CLIENTS concurrent s_time clients (their counts over the wall
# time of all of them).
concurrent_rate() {
  local t0 t1 i pids=()
  t0=$(date +%s%N)
  for i in $(seq "$CLIENTS"); do
    openssl s_time -connect "127.0.0.1:$PORT" -new -tls1_3 -time "$HS_TIME" 2>/dev/null |
      awk '/real seconds/ {print $1}' > "$WORK/conc.$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(date +%s%N)
  cat "$WORK"/conc.* | awk -v ns=$((t1 - t0)) '{n += $1} END {printf "%.0f", n / (ns / 1e9)}'
  rm -f "$WORK"/conc.*
}

# One side of one round: prints "full cpu conc resumed bulk ttfb rss_idle rss_peak".
measure() {
  start "$1"
  local idle full n cpu conc resumed bulk ttfb c0 c1
  idle=$(rss "$PID" VmRSS)
  c0=$(cpu_ticks "$PID")
  read -r full n < <(rate -new -tls1_3)
  c1=$(cpu_ticks "$PID")
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="${n:-0}" \
    'BEGIN {printf (n > 0 ? "%.0f" : "0"), 1e6 * t / hz / n}')
  conc=$(concurrent_rate)
  read -r resumed _ < <(rate -reuse -tls1_3 -www /small.txt)
  bulk=$(curl -sk --tls13-ciphers TLS_AES_128_GCM_SHA256 -o /dev/null -w '%{speed_download}' \
    "https://127.0.0.1:$PORT/big.bin" | awk '{printf "%.1f", $1 / 1e6}')
  ttfb=$(for _ in $(seq "$TTFB_N"); do
    curl -sk -o /dev/null -w '%{time_starttransfer}\n' "https://127.0.0.1:$PORT/small.txt"
  done | sort -n | awk '{v[NR]=$1} END {printf "%.2f", 1000 * v[int((NR + 1) / 2)]}')
  echo "${full:-0} ${cpu:-0} ${conc:-0} ${resumed:-0} ${bulk:-0} ${ttfb:-0} ${idle:-0} $(rss "$PID" VmHWM)"
  stop
}

declare -a RES_A RES_B
for r in $(seq "$ROUNDS"); do
  # A B, then B A: a drift in the machine's speed over a run favours neither side.
  order="A B"; (( r % 2 == 0 )) && order="B A"
  for side in $order; do
    tpl=$A; [[ $side == B ]] && tpl=$B
    mark=""
    wait_quiet || { wait_quiet || mark="!"; }
    line="$(measure "$tpl")$mark"
    echo "round $r $side: $line" >&2
    if [[ $side == A ]]; then RES_A+=("$line"); else RES_B+=("$line"); fi
  done
done

stats() { # column $1 of the lines on stdin: "median min max"
  awk -v c="$1" '{gsub("!", ""); print $c}' | sort -g |
    awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)], v[1], v[NR]}'
}
printf '%-14s %24s %24s %8s\n' metric "A median (min-max)" "B median (min-max)" A/B
i=1
for name in full_hs/s cpu_us/hs conc_hs/s resumed_hs/s bulk_MB/s ttfb_ms rss_idle_kB rss_peak_kB; do
  read -r a a_lo a_hi < <(printf '%s\n' "${RES_A[@]}" | stats $i)
  read -r b b_lo b_hi < <(printf '%s\n' "${RES_B[@]}" | stats $i)
  printf '%-14s %24s %24s %8s\n' "$name" "$a ($a_lo-$a_hi)" "$b ($b_lo-$b_hi)" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN {printf (b > 0 ? "%.2f" : "-"), a / b}')"
  i=$((i + 1))
done
if printf '%s\n' "${RES_A[@]}" "${RES_B[@]}" | grep -q '!'; then
  echo "WARNING: some sides ran on a busy machine (marked ! above)" >&2
fi
echo "A: $A" >&2
echo "B: $B" >&2

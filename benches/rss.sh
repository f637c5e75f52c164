#!/usr/bin/env bash
# rss.sh — resident memory of sserve against openssl s_server, same certificate, same flags.
#
# Usage: benches/rss.sh [A-template B-template]
#   Templates as in ab.sh (default: target/release/sserve, built here, and openssl s_server,
#   both '-accept {port} -cert {cert} -key {key} -WWW -quiet', started in a scratch root).
#
# ROUNDS (default 5) interleaved rounds A B A B …, each on a fresh server: VmRSS once the
# server listens (idle), then after LOAD: "one" (default) a single curl GET, or "ab" the load
# of ab.sh (s_time -new and -reuse HS_TIME s each, a BULK_MB MiB download, 20 GETs), then
# VmHWM (peak). Prints every round, the medians and A/B, and with MAPS=1 the resident KiB per
# mapping (binary, heap, anonymous, libraries) of the last round's idle servers. Memory does not
# depend on machine load, so no quiet-machine wait is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
LOAD=${LOAD:-one}
HS_TIME=${HS_TIME:-4}
BULK_MB=${BULK_MB:-128}
source benches/ab_common.sh "$@"
echo hello > "$WORK/small.txt"
[[ $LOAD == ab ]] && head -c $((BULK_MB << 20)) /dev/zero > "$WORK/big.bin"

load() {
  local url="https://127.0.0.1:$PORT"
  if [[ $LOAD == ab ]]; then
    openssl s_time -connect "127.0.0.1:$PORT" -time "$HS_TIME" -new -tls1_3 >/dev/null 2>&1 || true
    openssl s_time -connect "127.0.0.1:$PORT" -time "$HS_TIME" -reuse -tls1_3 -www /small.txt >/dev/null 2>&1 || true
    curl -sk -o /dev/null "$url/big.bin" || true
    for _ in $(seq 20); do curl -sk -o /dev/null "$url/small.txt" || true; done
  else
    curl -sk -o /dev/null "$url/small.txt" || true
  fi
}
# Resident KiB per mapping name (file name, [heap], [stack], [anon]) of $1.
maps() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / {n = (NF >= 6 ? $6 : "[anon]"); sub(".*/", "", n)}
       $1 == "Rss:" {r[n] += $2} END {for (n in r) if (r[n]) printf "%-24s %6d\n", n, r[n]}' "/proc/$1/smaps" | sort
}
measure() { # one side: prints "idle peak"
  start "$1"
  local idle; idle=$(rss "$PID" VmRSS)
  [[ ${MAPS:-0} == 1 ]] && maps "$PID" > "$WORK/maps.$2"
  load
  echo "$idle $(rss "$PID" VmHWM)"
  stop
}

declare -a RES_A RES_B
for r in $(seq "$ROUNDS"); do
  RES_A+=("$(measure "$A" A)"); RES_B+=("$(measure "$B" B)")
  echo "round $r: A ${RES_A[-1]}  B ${RES_B[-1]}" >&2
done
median() { awk -v c="$1" '{print $c}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
printf '%-14s %10s %10s %7s\n' metric A B A/B
for i in 1 2; do
  name=rss_idle_kB; [[ $i == 2 ]] && name=rss_peak_kB
  a=$(printf '%s\n' "${RES_A[@]}" | median $i)
  b=$(printf '%s\n' "${RES_B[@]}" | median $i)
  printf '%-14s %10s %10s %7s\n' "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", a / b}')"
done
if [[ ${MAPS:-0} == 1 ]]; then
  echo "resident KiB per mapping, idle (A | B):"
  join -a1 -a2 -e0 -o 0,1.2,2.2 <(sort "$WORK/maps.A") <(sort "$WORK/maps.B") | awk '{printf "  %-24s %8s %8s\n", $1, $2, $3}'
fi
echo "A: $A" >&2
echo "B: $B" >&2

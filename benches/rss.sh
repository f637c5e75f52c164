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
SERVE='-accept {port} -cert {cert} -key {key} -WWW -quiet'
if [[ $# -eq 2 ]]; then
  A=$1 B=$2
elif [[ $# -eq 0 ]]; then
  cargo build --release -p sserve >&2
  A="$PWD/target/release/sserve $SERVE" B="openssl s_server $SERVE"
else
  sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi

WORK=$(mktemp -d -t sserve-rss.XXXXXX)
PID=
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
echo hello > "$WORK/small.txt"
[[ $LOAD == ab ]] && head -c $((BULK_MB << 20)) /dev/zero > "$WORK/big.bin"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
status() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }
start() { # template $1; sets PID and PORT
  PORT=$(free_port)
  local cmd=${1//\{port\}/$PORT}
  cmd=${cmd//\{cert\}/$WORK/cert.pem}
  cmd=${cmd//\{key\}/$WORK/key.pem}
  (cd "$WORK" && exec $cmd </dev/null >/dev/null 2>&1) &
  PID=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "rss.sh: server did not start: $cmd" >&2
  exit 1
}
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
  local idle; idle=$(status "$PID" VmRSS)
  [[ ${MAPS:-0} == 1 ]] && maps "$PID" > "$WORK/maps.$2"
  load
  echo "$idle $(status "$PID" VmHWM)"
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; PID=
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

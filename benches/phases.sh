#!/usr/bin/env bash
# phases.sh — server time per connection phase against the client's, sserve vs openssl s_server,
# read from loopback packets (tcpdump) during `openssl s_time` runs: the median time from a
# ClientHello's arrival to the server's flight ("hello"), from the client's Finished to the
# server's last data ("reply"), each divided by the client's own phase in the same run (the
# server's flight to the client's Finished). The quotients hold steady while the machine's speed
# drifts, so they resolve a few per cent where connections/s cannot; and they say which part of
# the connection the server spends it in. Each run also splits one connection's whole cycle, SYN
# to the next connection's SYN (the inverse of its rate), into SYN to ClientHello ("connect"),
# hello, the client's phase and the client's Finished to the next SYN ("gap"), in µs: the summary
# says how many µs of the cycle's difference each part carries. These are absolute, so pair them
# only within a run (the rounds alternate the servers for that).
#
# Usage: benches/phases.sh [SSERVE_BIN]  (env: MODE=reuse|new, ROUNDS=3, SECS=2, SSERVE_ARGS)
# MODE=reuse is `s_time -reuse -www /small.txt` (resumed handshakes with a GET), MODE=new
# `s_time -new` (full handshakes). Needs tcpdump (apt-get install -y tcpdump) and the right to
# capture on lo.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-target/release/sserve}")
MODE=${MODE:-reuse}; ROUNDS=${ROUNDS:-3}; SECS=${SECS:-2}
command -v tcpdump >/dev/null || { echo "needs tcpdump (apt-get install -y tcpdump)" >&2; exit 2; }
source "$(dirname "$0")/scratch.sh"
case $MODE in
  reuse) client=(-reuse -www /small.txt) ;;
  new) client=(-new) ;;
  *) echo "MODE is reuse or new" >&2; exit 2 ;;
esac

one() { # side cmd...: prints phases.py's line for one run on a fresh server
  local side=$1; shift
  local port; port=$(free_port)
  (cd "$WORK/www" && exec "$@" -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -WWW \
     -quiet >/dev/null 2>&1 </dev/null) &
  local pid=$!
  for _ in $(seq 50); do
    openssl s_time -connect "127.0.0.1:$port" -time 1 -tls1_3 "${client[@]}" >/dev/null 2>&1 && break
    sleep 0.1
  done
  tcpdump -i lo -tt -n -l "tcp port $port" >"$WORK/cap.$side" 2>/dev/null &
  local dump=$!
  sleep 0.3 # tcpdump is listening
  openssl s_time -connect "127.0.0.1:$port" -time "$SECS" -tls1_3 "${client[@]}" >/dev/null 2>&1
  sleep 0.2
  kill "$dump" "$pid"; wait "$dump" "$pid" 2>/dev/null || true
  python3 benches/phases.py "$WORK/cap.$side" "$port"
}

declare -a HELLO_A HELLO_B REPLY_A REPLY_B
declare -A PART # "side part" -> space-separated values over rounds
printf '%-5s %-8s %6s %9s %9s %9s %8s %8s %8s %8s %8s\n' round side conns hello_us client_us reply_us \
  hello/c reply/c connect gap cycle
for r in $(seq "$ROUNDS"); do
  order="sserve s_server"; (( r % 2 == 0 )) && order="s_server sserve"
  for side in $order; do
    if [[ $side == sserve ]]; then
      # shellcheck disable=SC2086
      line=$(one sserve "$BIN" ${SSERVE_ARGS:-})
    else
      line=$(one s_server openssl s_server)
    fi
    read -r n hello cl reply qh qr c_connect c_hello c_client c_gap c_cycle <<<"$line"
    printf '%-5s %-8s %6s %9s %9s %9s %8s %8s %8s %8s %8s\n' "$r" "$side" "$n" "$hello" "$cl" "$reply" \
      "$qh" "$qr" "$c_connect" "$c_gap" "$c_cycle"
    for part in connect hello client gap cycle; do
      v="c_$part"; PART["$side $part"]+="${!v} "
    done
    if [[ $side == sserve ]]; then HELLO_A+=("$qh"); REPLY_A+=("$qr"); else HELLO_B+=("$qh"); REPLY_B+=("$qr"); fi
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
ha=$(median "${HELLO_A[@]}"); hb=$(median "${HELLO_B[@]}")
ra=$(median "${REPLY_A[@]}"); rb=$(median "${REPLY_B[@]}")
awk -v ha="$ha" -v hb="$hb" -v ra="$ra" -v rb="$rb" -v m="$MODE" 'BEGIN {
  printf "%s: server/client quotients, medians: hello %.3f vs %.3f (sserve / s_server %.3f)", m, ha, hb, ha / hb
  if (ra == "-" || rb == "-") print "; no reply phase (the client closes after its Finished)"
  else printf "; reply %.3f vs %.3f (%.3f)\n", ra, rb, ra / rb }'
summary=""
for part in connect hello client gap cycle; do
  # shellcheck disable=SC2086
  a=$(median ${PART["sserve $part"]}); b=$(median ${PART["s_server $part"]})
  summary+=$(awk -v p="$part" -v a="$a" -v b="$b" 'BEGIN { printf " %s %+.1f", p, a - b }')
done
# shellcheck disable=SC2086
awk -v a="$(median ${PART["sserve cycle"]})" -v b="$(median ${PART["s_server cycle"]})" -v s="$summary" 'BEGIN {
  printf "cycle (SYN to next SYN), medians: %.1f vs %.1f µs (sserve / s_server %.3f); sserve - s_server, µs:%s\n", a, b, a / b, s }'

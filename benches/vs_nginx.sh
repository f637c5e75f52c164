#!/usr/bin/env bash
# vs_nginx.sh — keep-alive HTTPS requests/s and latency of sserve `-WWW -keep_alive` against nginx
# (the server a user would otherwise pick), same certificate and file, TLS 1.3, loopback.
#
# Usage: benches/vs_nginx.sh [SSERVE_BIN]   (default target/release/sserve)
# Env: ROUNDS=3, DURATION=5 (s per wrk run), CONNS=10 (wrk connections, one wrk thread).
# Sides, interleaved per round, each on a fresh server:
#   nginx      Debian's nginx, one worker process (`worker_processes 1`), access log off
#   sserve -1  sserve -threads 1 (one core, as nginx's one worker)
#   sserve     sserve with its default threads (one per core)
# Prints per side the median over rounds of requests/s and of wrk's latency percentiles (ms),
# and the ratios sserve / nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(readlink -f "${1:-target/release/sserve}")
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-5}; CONNS=${CONNS:-10}
for tool in nginx wrk openssl python3; do
  command -v "$tool" >/dev/null || { echo "vs_nginx.sh: $tool is needed (apt-get install -y nginx-light wrk)" >&2; exit 2; }
done
WORK=$(mktemp -d -t vs-nginx.XXXXXX)
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost 2>/dev/null
mkdir -p "$WORK/www" "$WORK/nginx"
head -c 1024 /dev/urandom > "$WORK/www/1k.bin"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_nginx() {
  cat > "$WORK/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
user root;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.3;
    root $WORK/www;
  }
}
CONF
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" </dev/null >/dev/null 2>&1 &
  PID=$!
}

start_sserve() { # port [args...]
  local port=$1; shift
  (cd "$WORK/www" && exec "$BIN" -accept "$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
     -WWW -keep_alive -quiet "$@" </dev/null >/dev/null 2>&1) &
  PID=$!
}

# One side: prints "req/s p50_ms p90_ms p99_ms".
measure() {
  local port; port=$(free_port)
  case $1 in
    nginx) start_nginx "$port" ;;
    sserve1) start_sserve "$port" -threads 1 ;;
    sserve) start_sserve "$port" ;;
  esac
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "https://127.0.0.1:$port/1k.bin" 2>/dev/null | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +90%/ { p90 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = 1 }
    END { if (bad) rps = 0; printf "%.0f %.3f %.3f %.3f\n", rps, p50, p90, p99 }'
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; PID=
}

declare -A RES
SIDES=(nginx sserve1 sserve)
for r in $(seq "$ROUNDS"); do
  for side in "${SIDES[@]}"; do
    line=$(measure "$side")
    echo "round $r $side: $line" >&2
    RES[$side]+="$line"$'\n'
  done
done
median() { awk -v c="$1" 'NF {print $c}' | sort -g | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
printf '%-10s %10s %9s %9s %9s\n' side req/s p50_ms p90_ms p99_ms
declare -A MED
for side in "${SIDES[@]}"; do
  row=()
  for c in 1 2 3 4; do row+=("$(printf '%s' "${RES[$side]}" | median $c)"); done
  MED[$side]=${row[0]}
  printf '%-10s %10s %9s %9s %9s\n' "$side" "${row[@]}"
done
awk -v a="${MED[sserve1]}" -v b="${MED[sserve]}" -v n="${MED[nginx]}" \
  'BEGIN { if (n > 0) printf "req/s ratio: sserve -threads 1 / nginx %.2f, sserve / nginx %.2f\n", a / n, b / n }'

# ab_common.sh — what ab.sh and rss.sh share, sourced by them (with their arguments) after
# `set -euo pipefail` and a `cd` to the repository: the two server templates A and B (given, or
# sserve and openssl s_server with the same flags), a scratch root with a fresh ECDSA P-256
# certificate, removed on exit, and starting and stopping a server from a template.

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

WORK=$(mktemp -d -t "sserve-${0##*/}.XXXXXX")
PID=
cleanup() {
  [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Field $2 (VmRSS, VmHWM) of process $1, in kB.
rss() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status"; }

# Starts a server from template $1 in the scratch root; sets PID and PORT.
start() {
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
  echo "${0##*/}: server did not start: $cmd" >&2
  exit 1
}
stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; PID=; }

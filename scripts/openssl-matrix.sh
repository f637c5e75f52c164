#!/usr/bin/env bash
# The OpenSSL version matrix: builds sserve and runs `cargo test --workspace` against
#   system  the system's libssl (found with pkg-config), as CI builds it
#   3.5     OpenSSL 3.5 from the openssl-src crate, linked statically (`--features sserve/vendored`)
#   1.1.1   OpenSSL 1.1.1 from the openssl-src crate (scripts/openssl-111), linked statically
#           through OPENSSL_DIR
#   static  the release binary of `--features vendored`: ldd lists no libssl/libcrypto, and it
#           serves -www to curl in an empty environment (no LD_LIBRARY_PATH, no OPENSSLDIR)
# and prints one summary line per entry. The peers are always the system's openssl s_client,
# curl and Python.
#
# Usage: scripts/openssl-matrix.sh [system] [3.5] [1.1.1] [static]   (default: all four)
# Each version builds in its own CARGO_TARGET_DIR (target/matrix-<version>; the system build
# uses the normal target/), so switching versions rebuilds nothing. OpenSSL is compiled from
# source for 3.5 and 1.1.1 (a few minutes each, under nice, one at a time). Logs go to
# target/openssl-matrix/.
set -uo pipefail
cd "$(dirname "$0")/.."

export SSERVE_TESTS_REQUIRE_PEERS=1
logs=target/openssl-matrix
mkdir -p "$logs"
summary=()
status=0

# Adds up the `test result:` lines of a cargo test log: "N passed, M failed".
count_tests() {
    awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$1"
}

# The version line the built binary reports in its -help ("Linked with OpenSSL ...").
linked_version() {
    "$1" -help 2>&1 | sed -n 's/^Linked with \(.*\)\.$/\1/p'
}

# run_tests NAME TARGET_DIR [cargo args...]: cargo test --workspace in TARGET_DIR.
run_tests() {
    local name=$1 dir=$2
    shift 2
    local log="$logs/$name.log" start=$SECONDS
    echo "== $name: cargo test --workspace $* (CARGO_TARGET_DIR=$dir, log: $log)"
    if CARGO_TARGET_DIR=$dir nice -n 10 cargo test --workspace --no-fail-fast "$@" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
        grep -E '^test .* FAILED$|^error' "$log" | head -20
    fi
    local version
    version=$(linked_version "$dir/debug/sserve-under-test")
    summary+=("$name: $result, ${version:-version unknown}, $(count_tests "$log"), $((SECONDS - start)) s")
}

matrix_system() {
    run_tests system target
}

matrix_35() {
    run_tests 3.5 target/matrix-3.5 --features sserve/vendored
    # The test build's own binary is statically linked as well: the same checks as `static`.
    check_static "3.5 static binary" target/matrix-3.5/debug/sserve "$SECONDS"
}

matrix_111() {
    local prefix
    echo "== 1.1.1: building OpenSSL 1.1.1 from openssl-src (scripts/openssl-111)"
    if ! prefix=$(nice -n 10 cargo run -q --manifest-path scripts/openssl-111/Cargo.toml \
        --target-dir target/openssl-111 2>"$logs/openssl-111-build.log"); then
        summary+=("1.1.1: FAILED to build OpenSSL (see $logs/openssl-111-build.log)")
        status=1
        return
    fi
    OPENSSL_DIR=$prefix OPENSSL_STATIC=1 run_tests 1.1.1 target/matrix-1.1.1
}

matrix_static() {
    local log="$logs/static.log" bin=target/release/sserve start=$SECONDS
    echo "== static: cargo build --release -p sserve --features vendored (log: $log)"
    if ! nice -n 10 cargo build --release -p sserve --features vendored >"$log" 2>&1; then
        summary+=("static: FAILED to build (see $log)")
        status=1
        return
    fi
    check_static static "$bin" "$start"
}

# check_static NAME BIN START: ldd lists no libssl/libcrypto, and BIN serves -www to curl.
check_static() {
    local name=$1 bin=$2 start=$3 why=""
    if [ ! -x "$bin" ]; then
        why="$bin was not built"
    elif ldd "$bin" 2>&1 | grep -Eq 'libssl|libcrypto'; then
        why="ldd lists libssl/libcrypto"
    else
        why=$(smoke_www "$bin") || true
    fi
    if [ -n "$why" ]; then
        summary+=("$name: FAILED: $why")
        status=1
    else
        summary+=("$name: ok, $(linked_version "$bin"), no libssl/libcrypto in ldd, -www served to curl with an empty environment, $((SECONDS - start)) s")
    fi
}

# smoke_www BIN: runs BIN -www in an empty environment and fetches the page with curl. Prints
# why it failed, nothing on success.
smoke_www() {
    local bin dir port out pid
    bin=$(realpath "$1")
    dir=$(mktemp -d)
    env -i LD_LIBRARY_PATH= "$bin" -accept 127.0.0.1:0 -www -naccept 1 >"$dir/out" 2>"$dir/err" </dev/null &
    pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$dir/out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "no ACCEPT line: $(head -c 300 "$dir/err")"
    else
        out=$(curl -sk --max-time 10 "https://127.0.0.1:$port/")
        case "$out" in
            *"Ciphers supported in s_server binary"*) ;;
            *) echo "curl got no -www page" ;;
        esac
    fi
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -rf "$dir"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(system 3.5 1.1.1 static)
for t in "${targets[@]}"; do
    case "$t" in
        system) matrix_system ;;
        3.5) matrix_35 ;;
        1.1.1) matrix_111 ;;
        static) matrix_static ;;
        *) echo "unknown matrix entry: $t (system, 3.5, 1.1.1, static)" >&2; exit 2 ;;
    esac
done

echo "== OpenSSL matrix, $(date -u +%Y-%m-%d)"
for line in "${summary[@]}"; do
    echo "openssl-matrix: $line"
done
exit $status

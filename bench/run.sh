#!/bin/bash
# make bench: each benchmark runs ours and a reference in the same run on
# the same machine and prints
#   bench: <name> ours=<value> ref=<value> ratio=<ours/ref>
#
# Environment: BENCH_DURATION (seconds per run, default 10),
# BENCH_CONNECTIONS (default "16 64 256").
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-16 64 256}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

export MEDIA_VAR=$(mktemp -d /tmp/media-bench.XXXXXX)
export MEDIA_PORT=$(free_port)
export MEDIA_PG_PORT=$(free_port)
export MEDIA_NGINX_WORKERS=1
export MEDIA_LOGLEVEL=error
export MEDIA_PG_EXTRA_OPTS="-c fsync=off"

cleanup() {
    "$ROOT/scripts/stack.sh" stop >/dev/null 2>&1 || true
    rm -rf "$MEDIA_VAR"
}
trap cleanup EXIT INT TERM

"$ROOT/scripts/stack.sh" start >/dev/null
export MEDIA_BENCH_KEY=$(cat "$MEDIA_VAR/dev-api-key")
BASE="http://127.0.0.1:$MEDIA_PORT"

# the access log would measure the disk; both sides run without it
sed -i 's|^\(\s*access_log\s\).*|\1off;|' "$MEDIA_VAR/nginx.conf"
/usr/sbin/nginx -p "$MEDIA_VAR" -c "$MEDIA_VAR/nginx.conf" -s reload
sleep 1

wrk_run() {   # <connections> <script> <url> -> "rps p50 p99"
    local out
    out=$(wrk -t1 -c"$1" -d"${DURATION}s" --latency -s "$2" "$3" | grep '^RESULT')
    case "$out" in
    *"errors=0 non2xx=0"*) ;;
    *) echo "bench: wrk reported errors: $out" >&2; exit 1 ;;
    esac
    echo "$out"
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

ratio() { python3 -c "print(f'{$1/$2:.3f}')"; }

# warm the key cache and the connections
wrk -t1 -c4 -d2s -s "$ROOT/bench/presign.lua" "$BASE/api/v1/media/request-upload-url" >/dev/null

echo "# request-upload-url vs nginx 'return 200', one nginx worker, wrk -t1, ${DURATION}s each"
for c in $CONNECTIONS; do
    ours=$(wrk_run "$c" "$ROOT/bench/presign.lua" "$BASE/api/v1/media/request-upload-url")
    ref=$(wrk_run "$c" "$ROOT/bench/plain.lua" "$BASE/bench/return200")
    o=$(field rps "$ours") r=$(field rps "$ref")
    echo "bench: request-upload-url-c$c ours=$o ref=$r ratio=$(ratio "$o" "$r")"
    o=$(field p99 "$ours") r=$(field p99 "$ref")
    echo "bench: request-upload-url-c$c-p99-ms ours=$o ref=$r ratio=$(ratio "$o" "$r")"
done

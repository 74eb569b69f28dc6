#!/bin/bash
# stack.sh run|start|stop|status
#
# The development stack: a private PostgreSQL cluster, nginx with the media
# module and the media worker, all under $MEDIA_VAR.  `start` leaves them in
# the background, `run` keeps them in the foreground until Ctrl-C, `stop`
# ends them by their PID files (safe to run twice), `status` says what runs.
#
# Environment (defaults in brackets):
#   MEDIA_VAR [<repo>/var]  MEDIA_PORT [8080]  MEDIA_PG_PORT [54329]
#   MEDIA_NGINX_WORKERS [2]  MEDIA_AUTH_TTL [30s]  MEDIA_UPLOAD_TTL [30m]
#   MEDIA_IMPORT_ALLOW []  MEDIA_WORKER_CONCURRENCY [2]
#   MEDIA_LOGLEVEL [notice]  MEDIA_PG_EXTRA_OPTS [] (e.g. "-c fsync=off")
#   MEDIA_STORAGE [local] or s3, with MEDIA_S3_ENDPOINT, MEDIA_S3_REGION
#   [us-east-1], MEDIA_S3_BUCKET, MEDIA_S3_PATH_STYLE [on],
#   MEDIA_S3_CREDENTIALS (a file: key id, secret) for nginx and the worker
#   MEDIA_PUBLIC_URL [/files/ of nginx; <endpoint>/<bucket> with s3]
#   MEDIA_WORKER_EXTRA [] more worker.conf lines ("key = value\n...")
#   MEDIA_EDGES [1] nginx instances: the first on MEDIA_PORT, the others on
#   MEDIA_EDGE_PORTS (comma list) [MEDIA_PORT+1, +2, ...]; edge n > 1 has
#   its own nginx-n.conf, nginx-n.pid and log/nginx-n-{error,access}.log,
#   and the same store, database and sign.key.
#   MEDIA_WORKERS [1] worker processes (worker.pid, worker-2.pid ... and
#   log/worker.log, log/worker-2.log ...), one worker.conf.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${MEDIA_VAR:-$ROOT/var}
PORT=${MEDIA_PORT:-8080}
PG_PORT=${MEDIA_PG_PORT:-54329}
WORKERS=${MEDIA_NGINX_WORKERS:-2}
AUTH_TTL=${MEDIA_AUTH_TTL:-30s}
UPLOAD_TTL=${MEDIA_UPLOAD_TTL:-30m}
IMPORT_ALLOW=${MEDIA_IMPORT_ALLOW:-}
CONCURRENCY=${MEDIA_WORKER_CONCURRENCY:-2}
LOGLEVEL=${MEDIA_LOGLEVEL:-notice}
STORAGE=${MEDIA_STORAGE:-local}
S3_ENDPOINT=${MEDIA_S3_ENDPOINT:-}
S3_REGION=${MEDIA_S3_REGION:-us-east-1}
S3_BUCKET=${MEDIA_S3_BUCKET:-}
S3_PATH_STYLE=${MEDIA_S3_PATH_STYLE:-on}
S3_CREDENTIALS=${MEDIA_S3_CREDENTIALS:-}
EDGES=${MEDIA_EDGES:-1}
EDGE_PORTS=${MEDIA_EDGE_PORTS:-}
NWORKERS=${MEDIA_WORKERS:-1}

NGINX=/usr/sbin/nginx
MODULE=$ROOT/build/ngx_http_media_module.so
WORKER=$ROOT/backend/media-worker
ADMIN=$ROOT/backend/media-admin
PGCONN="host=127.0.0.1 port=$PG_PORT dbname=media user=postgres"
STOP_WAIT=15            # seconds each process gets to exit after SIGTERM

say() { echo "stack: $*"; }
die() { echo "stack: $*" >&2; exit 1; }

is_count() { case "$1" in ''|*[!0-9]*|0*) return 1 ;; esac; }

# "" for instance 1 (the historic file names), "-n" for instance n.
sfx() { [ "$1" -eq 1 ] || echo "-$1"; }

# The port of edge n: MEDIA_PORT, then MEDIA_EDGE_PORTS, then MEDIA_PORT+n-1.
edge_port() {
    local n=$1 ports
    [ "$n" -eq 1 ] && { echo "$PORT"; return; }
    IFS=, read -ra ports <<<"$EDGE_PORTS"
    echo "${ports[n - 2]:-$((PORT + n - 1))}"
}

# Every edge listens with reuseport: a port given twice would not fail to
# bind, it would silently share, so refuse it here.
check_counts() {
    local n p seen=" "
    is_count "$EDGES" || die "MEDIA_EDGES must be a number from 1: $EDGES"
    is_count "$NWORKERS" || die "MEDIA_WORKERS must be a number from 1: $NWORKERS"
    for ((n = 1; n <= EDGES; n++)); do
        p=$(edge_port "$n")
        is_count "$p" || die "bad edge port '$p' (MEDIA_EDGE_PORTS=$EDGE_PORTS)"
        case "$seen" in *" $p "*) die "edge port $p given twice" ;; esac
        seen="$seen$p "
    done
}

# 1 .. N for <prefix>-N.pid: the configured count, or more when PID files
# of more instances are present (started with a larger MEDIA_EDGES or
# MEDIA_WORKERS), so that stop and status find them all.
instances() {
    local prefix=$1 n=$2 f i
    for f in "$VAR/$prefix"-*.pid; do
        i=${f##*/"$prefix"-}
        i=${i%.pid}
        is_count "$i" || continue
        [ "$i" -gt "$n" ] && n=$i
    done
    seq 1 "$n"
}

public_url() {
    if [ -n "${MEDIA_PUBLIC_URL:-}" ]; then
        echo "$MEDIA_PUBLIC_URL"
    elif [ "$STORAGE" = s3 ]; then
        echo "$S3_ENDPOINT/$S3_BUCKET"
    else
        echo "http://127.0.0.1:$1/files"
    fi
}

# The PID in <file> if that process is alive and runs <program>, so that a
# stale PID file never makes us signal an unrelated process.
live_pid() {
    local file=$1 program=$2 pid
    [ -f "$file" ] || return 1
    pid=$(head -n1 "$file" 2>/dev/null) || return 1
    case "$pid" in ''|*[!0-9]*) return 1 ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$program" || return 1
    echo "$pid"
}

pg_running() {
    live_pid "$VAR/pg/postmaster.pid" postgres >/dev/null
}

# SIGTERM, then up to STOP_WAIT seconds, then SIGKILL for the process and
# its direct children (nginx workers outlive a killed master).
stop_pid() {
    local pid=$1 name=$2 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < STOP_WAIT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    say "$name (pid $pid) ignored SIGTERM for ${STOP_WAIT}s, killing it"
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
}

# sed replacement text: escape the delimiter, & and backslashes.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# nginx<sfx>.conf of edge n: its port (listen, media_upload_url, the
# default media_public_url), its PID file and logs.
write_nginx_conf() {
    local daemon=$1 n=$2 user="" s port
    s=$(sfx "$n")
    port=$(edge_port "$n")
    [ "$(id -u)" -eq 0 ] && user="user root;"
    local -a subst=()
    local kv f
    if [ -n "$s" ]; then
        for f in nginx.pid log/nginx-error.log log/nginx-access.log; do
            subst+=(-e "s|@VAR@/$f|@VAR@/${f/nginx/nginx$s}|")
        done
    fi
    for kv in "MODULE=$MODULE" "USER=$user" "WORKERS=$WORKERS" \
              "DAEMON=$daemon" "VAR=$VAR" "LOGLEVEL=$LOGLEVEL" \
              "PGCONN=$PGCONN" "PORT=$port" "AUTH_TTL=$AUTH_TTL" \
              "UPLOAD_TTL=$UPLOAD_TTL" "PUBLIC_URL=$(public_url "$port")" \
              "STORAGE=$(storage_directives)"; do
        subst+=(-e "s|@${kv%%=*}@|$(sed_escape "${kv#*=}")|g")
    done
    sed "${subst[@]}" "$ROOT/conf/nginx.conf.in" >"$VAR/nginx$s.conf.new"
    grep -q "^pid .*/nginx$s\.pid;" "$VAR/nginx$s.conf.new" ||
        die "conf/nginx.conf.in: no pid line for edge $n"
    mv "$VAR/nginx$s.conf.new" "$VAR/nginx$s.conf"
}

# nginx's s3 directives, on one line (empty with the local store).
storage_directives() {
    [ "$STORAGE" = s3 ] || return 0
    printf 'media_storage s3; media_s3_endpoint %s; media_s3_region %s; ' \
        "$S3_ENDPOINT" "$S3_REGION"
    printf 'media_s3_bucket %s; media_s3_path_style %s; ' \
        "$S3_BUCKET" "$S3_PATH_STYLE"
    printf 'media_s3_credentials_file %s;' "$S3_CREDENTIALS"
}

# An nginx time (30m, 1h, 45s, 2d) in seconds, for the worker.
seconds() {
    local v=$1
    case "$v" in
    *d) echo $(( ${v%d} * 86400 )) ;;
    *h) echo $(( ${v%h} * 3600 )) ;;
    *m) echo $(( ${v%m} * 60 )) ;;
    *s) echo "${v%s}" ;;
    *)  echo "$v" ;;
    esac
}

write_worker_conf() {
    cat >"$VAR/worker.conf.new" <<EOF
# Generated by scripts/stack.sh on every start; edit the environment instead.
database = $PGCONN
store_root = $VAR/store
concurrency = $CONCURRENCY
import_allow = $IMPORT_ALLOW
upload_url_ttl = $(seconds "$UPLOAD_TTL")
EOF
    if [ "$STORAGE" = s3 ]; then
        cat >>"$VAR/worker.conf.new" <<EOF
storage = s3
s3_endpoint = $S3_ENDPOINT
s3_region = $S3_REGION
s3_bucket = $S3_BUCKET
s3_path_style = $S3_PATH_STYLE
s3_credentials_file = $S3_CREDENTIALS
EOF
    fi
    [ -z "${MEDIA_WORKER_EXTRA:-}" ] ||
        printf '%b\n' "$MEDIA_WORKER_EXTRA" >>"$VAR/worker.conf.new"
    mv "$VAR/worker.conf.new" "$VAR/worker.conf"
}

# Directories, the signing secret and the PostgreSQL cluster, created once.
prepare_var() {
    mkdir -p "$VAR"/store/.tmp "$VAR"/log \
             "$VAR"/tmp/proxy "$VAR"/tmp/fastcgi "$VAR"/tmp/uwsgi "$VAR"/tmp/scgi
    # The postgres user must be able to reach $VAR/pg.
    [ "$(id -u)" -eq 0 ] && chmod go+x "$VAR"
    if [ ! -s "$VAR/sign.key" ]; then
        (umask 077; head -c 32 /dev/urandom >"$VAR/sign.key.new")
        mv "$VAR/sign.key.new" "$VAR/sign.key"
    fi
    "$ROOT/scripts/pg.sh" init "$VAR/pg" "$PG_PORT"
}

start_pg() {
    if pg_running; then
        say "PostgreSQL already running"
    else
        PG_EXTRA_OPTS=${MEDIA_PG_EXTRA_OPTS:-} \
            "$ROOT/scripts/pg.sh" start "$VAR/pg" "$PG_PORT" ||
            die "PostgreSQL did not start; see $VAR/pg/server.log"
    fi
    "$ROOT/scripts/migrate.sh" "$PGCONN"
}

# The development tenant and its key, made once with the admin CLI.
create_dev_key() {
    [ -s "$VAR/dev-api-key" ] && return 0
    [ -x "$ADMIN" ] || die "$ADMIN is missing (make backend)"
    local tenant key
    tenant=$("$ADMIN" -d "$PGCONN" tenant create dev) \
        || die "media-admin tenant create failed"
    tenant=$(printf '%s\n' "$tenant" | grep -E '^[0-9]+$' | head -n1)
    [ -n "$tenant" ] || die "media-admin tenant create printed no tenant id"
    key=$("$ADMIN" -d "$PGCONN" key create "$tenant") \
        || die "media-admin key create failed"
    key=$(printf '%s\n' "$key" | grep -E '^mk_[A-Za-z0-9_-]{43}$' | head -n1)
    [ -n "$key" ] || die "media-admin key create printed no key"
    (umask 077; printf '%s\n' "$key" >"$VAR/dev-api-key.new")
    mv "$VAR/dev-api-key.new" "$VAR/dev-api-key"
    say "development tenant $tenant, API key: $key"
}

check_nginx_conf() {
    local out conf=$VAR/nginx$(sfx "$1").conf
    if ! out=$("$NGINX" -t -p "$VAR" -c "$conf" 2>&1); then
        echo "$out" >&2
        die "bad nginx configuration in $conf (above)"
    fi
}

# Until nginx answers on port $1, at most 10 s.
wait_http() {
    local i
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
        sleep 0.1
    done
    return 1
}

wait_edges() {
    local n
    for ((n = 1; n <= EDGES; n++)); do
        wait_http "$(edge_port "$n")" ||
            die "nginx does not answer on port $(edge_port "$n")"
    done
}

start_worker() {
    local s
    s=$(sfx "$1")
    [ -x "$WORKER" ] || die "$WORKER is missing (make backend)"
    # setsid: the worker must not die with the terminal that ran `make start`.
    setsid "$WORKER" -c "$VAR/worker.conf" </dev/null \
        >>"$VAR/log/worker$s.log" 2>&1 &
    echo $! >"$VAR/worker$s.pid"
    sleep 0.2
    if ! live_pid "$VAR/worker$s.pid" media-worker >/dev/null; then
        tail -n 20 "$VAR/log/worker$s.log" >&2
        die "worker $1 exited at once (log above)"
    fi
}

start_workers() {
    local n
    for ((n = 1; n <= NWORKERS; n++)); do start_worker "$n"; done
}

# Everything but nginx's own start, which differs between start and run.
bring_up() {
    local daemon=$1
    prepare_var
    start_pg
    create_dev_key
    write_worker_conf
    local n
    for ((n = 1; n <= EDGES; n++)); do
        write_nginx_conf "$daemon" "$n"
        check_nginx_conf "$n"
    done
}

announce() {
    local n
    for ((n = 1; n <= EDGES; n++)); do
        say "http://127.0.0.1:$(edge_port "$n")/  (API key in $VAR/dev-api-key, logs in $VAR/log)"
    done
    [ "$NWORKERS" -eq 1 ] || say "$NWORKERS workers"
}

refuse_if_running() {
    local n
    for n in $(instances nginx "$EDGES"); do
        live_pid "$VAR/nginx$(sfx "$n").pid" nginx >/dev/null &&
            die "already running (scripts/stack.sh stop first)"
    done
    for n in $(instances worker "$NWORKERS"); do
        live_pid "$VAR/worker$(sfx "$n").pid" media-worker >/dev/null &&
            die "already running (scripts/stack.sh stop first)"
    done
    return 0
}

# On any failure while starting (set -e or die), stop what already started.
stop_on_failure() {
    trap 'rc=$?; trap - EXIT
          if [ $rc -ne 0 ]; then
              echo "stack: start failed, stopping what started" >&2
              cmd_stop >/dev/null
          fi' EXIT
}

cmd_start() {
    refuse_if_running
    stop_on_failure
    bring_up on
    local n
    for ((n = 1; n <= EDGES; n++)); do
        "$NGINX" -p "$VAR" -c "$VAR/nginx$(sfx "$n").conf" ||
            die "nginx (edge $n) did not start"
    done
    start_workers
    wait_edges
    trap - EXIT
    announce
}

# Foreground: nginx runs with daemon off as our child; Ctrl-C (or SIGTERM)
# or the end of either nginx or the worker stops everything.
cmd_run() {
    refuse_if_running
    stop_on_failure
    bring_up off
    local n pids=()
    for ((n = 1; n <= EDGES; n++)); do
        "$NGINX" -p "$VAR" -c "$VAR/nginx$(sfx "$n").conf" &
        pids+=($!)
    done
    start_workers
    for ((n = 1; n <= NWORKERS; n++)); do
        pids+=("$(cat "$VAR/worker$(sfx "$n").pid")")
    done
    wait_edges
    trap - EXIT
    trap 'echo; run_exit 0' INT TERM
    announce
    say "running in the foreground; Ctrl-C stops everything"
    local rc=0
    wait -n "${pids[@]}" || rc=$?
    say "a process exited (status $rc); stopping the rest"
    run_exit 1
}

run_exit() {
    trap '' INT TERM
    cmd_stop
    exit "$1"
}

cmd_stop() {
    local pid n f
    for n in $(instances worker "$NWORKERS"); do
        f=$VAR/worker$(sfx "$n").pid
        if pid=$(live_pid "$f" media-worker); then
            stop_pid "$pid" "worker $n"
        fi
        rm -f "$f"
    done
    for n in $(instances nginx "$EDGES"); do
        f=$VAR/nginx$(sfx "$n").pid
        if pid=$(live_pid "$f" nginx); then
            stop_pid "$pid" "nginx (edge $n)"
        fi
        rm -f "$f"
    done
    if pg_running; then
        "$ROOT/scripts/pg.sh" stop "$VAR/pg" "$PG_PORT" \
            || die "PostgreSQL did not stop; see $VAR/pg/server.log"
    fi
    say "stopped"
}

cmd_status() {
    local pid rc=0
    if pid=$(live_pid "$VAR/pg/postmaster.pid" postgres); then
        say "postgres running (pid $pid, port $PG_PORT)"
    else
        say "postgres not running"; rc=1
    fi
    local n name
    for n in $(instances nginx "$EDGES"); do
        name=nginx
        [ "$n" -eq 1 ] || name="nginx (edge $n)"
        if pid=$(live_pid "$VAR/nginx$(sfx "$n").pid" nginx); then
            say "$name running (pid $pid, http://127.0.0.1:$(edge_port "$n")/)"
        else
            say "$name not running"; rc=1
        fi
    done
    for n in $(instances worker "$NWORKERS"); do
        name=worker
        [ "$n" -eq 1 ] || name="worker $n"
        if pid=$(live_pid "$VAR/worker$(sfx "$n").pid" media-worker); then
            say "$name running (pid $pid)"
        else
            say "$name not running"; rc=1
        fi
    done
    return $rc
}

check_counts

case "${1:-}" in
run)    cmd_run ;;
start)  cmd_start ;;
stop)   cmd_stop ;;
status) cmd_status ;;
*)      echo "usage: $0 run|start|stop|status" >&2; exit 2 ;;
esac

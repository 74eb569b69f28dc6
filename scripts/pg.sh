#!/bin/sh
# pg.sh init|start|stop|url <dir> <port>
# A private PostgreSQL 15 cluster under <dir>, listening on 127.0.0.1:<port>
# and a socket in <dir>.  PostgreSQL refuses to run as root, so as root its
# binaries run as the postgres user.
set -eu

cmd=$1 dir=$2 port=${3:-5432}
PGBIN=/usr/lib/postgresql/15/bin

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
init)
    [ -f "$dir/PG_VERSION" ] && exit 0
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    as_pg $PGBIN/initdb -D "$dir" -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
        || { cat "$dir.initdb.log"; exit 1; }
    ;;
start)
    as_pg $PGBIN/pg_ctl -D "$dir" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 ${PG_EXTRA_OPTS:-}" \
        start >/dev/null
    as_pg $PGBIN/createdb -h 127.0.0.1 -p "$port" -U postgres media 2>/dev/null || true
    ;;
stop)
    [ -f "$dir/postmaster.pid" ] || exit 0
    as_pg $PGBIN/pg_ctl -D "$dir" -m fast -w stop >/dev/null
    ;;
*)
    echo "usage: $0 init|start|stop <dir> <port>" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests.
#
#   scripts/test-postgres.sh start [DIR]    initdb into DIR (default: a new var/test-pg/run.XXXXXX), start the
#                                           server on 127.0.0.1 with trust auth on a free port (55432 if free),
#                                           create database sarhad_test and print its URL on stdout
#   scripts/test-postgres.sh stop [DIR]     stop the server in DIR and delete DIR (default: var/test-pg/current)
#   scripts/test-postgres.sh status [DIR]   print the URL if the server in DIR runs, else exit 1
#   scripts/test-postgres.sh run CMD ...    start a server, run CMD with SARHAD_TEST_POSTGRES_URL exported,
#                                           stop the server afterwards (also on failure or Ctrl-C); exit with
#                                           CMD's status
#
# Every start gets its own directory and port, so two test runs in the same checkout do not collide.
# PostgreSQL refuses to run as root: when run as root the server runs as the `postgres` OS user and the
# directory is chowned to it. That user must reach the directory: when it cannot reach var/test-pg (a checkout
# in root's home or in any mode-700 folder, such as `mktemp -d`), the server's directory is made under
# TEST_PG_SERVER_BASE (default /tmp) instead, and var/test-pg/run.XXXXXX is a link to it, so `stop`, `status`
# and `make clean` find it the same way. As any other user the server runs as that user, in var/test-pg.
# Set TEST_PG_KEEP=1 to keep the directory (logs) after stop.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="$ROOT/var/test-pg"
SERVER_BASE="${TEST_PG_SERVER_BASE:-/tmp}"
DB_NAME="sarhad_test"
FIRST_PORT="${TEST_PG_PORT:-55432}"

log() { echo "test-postgres: $*" >&2; }
die() { log "$*"; exit 1; }

find_bindir() {
    local dir
    if command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        pg_config --bindir
        return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" ]]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    die "PostgreSQL server binaries (initdb, pg_ctl) not found; run scripts/install-system-deps.sh"
}

# Run a command as the OS user that owns the server: `postgres` when we are root, else ourselves. As postgres
# it runs from / : the invoking folder may be one that user cannot enter (initdb refuses to start there).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        if command -v runuser >/dev/null; then
            (cd / && runuser -u postgres -- "$@")
        else
            (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
        fi
    else
        "$@"
    fi
}

# A new directory for one server: var/test-pg/run.XXXXXX, or, when root and the postgres OS user cannot reach
# var/test-pg, $SERVER_BASE/sarhad-test-pg.XXXXXX with var/test-pg/run.XXXXXX linking to it.
new_server_dir() {
    local dir real
    mkdir -p "$BASE"
    dir="$(mktemp -d "$BASE/run.XXXXXX")"
    if [[ $(id -u) -eq 0 ]] && ! as_owner test -x "$BASE"; then
        real="$(mktemp -d "$SERVER_BASE/sarhad-test-pg.XXXXXX")"
        rmdir "$dir"
        ln -s "$real" "$dir"
        log "the postgres OS user cannot reach $BASE; the server's directory is $real"
        dir="$real"
    fi
    echo "$dir"
}

port_is_free() {
    # bash's /dev/tcp: connecting succeeds when something listens there
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

url_for() { echo "postgresql+psycopg://postgres@127.0.0.1:$1/$DB_NAME"; }

cmd_start() {
    local dir="${1:-}" bindir port attempt
    bindir="$(find_bindir)"
    mkdir -p "$BASE"
    if [[ -z "$dir" ]]; then
        dir="$(new_server_dir)"
    else
        mkdir -p "$dir"
        dir="$(cd "$dir" && pwd)"
    fi
    [[ -e "$dir/data" ]] && die "$dir/data already exists; stop that server first"
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' OS user to run the server"
        chown postgres: "$dir"
        # the postgres user must be able to reach the directory
        as_owner test -w "$dir" || die "the postgres OS user cannot write to $dir (check permissions of its parents)"
    fi
    as_owner "$bindir/initdb" --pgdata="$dir/data" --username=postgres --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

    port="$FIRST_PORT"
    for attempt in $(seq 1 50); do
        if port_is_free "$port"; then
            if as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
                --silent start -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
                -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
                -c shared_buffers=64MB -c log_min_messages=warning" >/dev/null 2>&1; then
                break
            fi
            log "could not start on port $port (attempt $attempt):"
            tail -n 3 "$dir/server.log" >&2 || true
        fi
        port=$((port + 1))
        [[ $attempt -eq 50 ]] && die "no free port in $FIRST_PORT..$port"
    done
    echo "$port" >"$dir/port"
    as_owner "$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE $DB_NAME" >/dev/null || { cmd_stop "$dir"; die "could not create $DB_NAME"; }
    ln -sfn "$dir" "$BASE/current"
    log "PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') running in $dir on 127.0.0.1:$port"
    url_for "$port"
}

resolve_dir() {
    local dir="${1:-$BASE/current}"
    [[ -d "$dir" ]] || die "no test server directory $dir"
    (cd "$dir" && pwd -P)
}

cmd_stop() {
    local dir bindir
    dir="$(resolve_dir "${1:-}")"
    bindir="$(find_bindir)"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --wait --timeout=60 --silent stop -m fast >/dev/null 2>&1 \
            || as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --silent stop -m immediate >/dev/null 2>&1 || true
    fi
    if [[ "$(readlink -f "$BASE/current" 2>/dev/null)" == "$dir" ]]; then
        rm -f "$BASE/current"
    fi
    local link
    for link in "$BASE"/run.*; do  # the link to a server directory outside the checkout
        if [[ -L "$link" && "$(readlink -f "$link")" == "$dir" ]]; then
            rm -f "$link"
        fi
    done
    if [[ "${TEST_PG_KEEP:-}" == 1 ]]; then
        log "stopped; kept $dir"
    else
        rm -rf "$dir"
        log "stopped and removed $dir"
    fi
}

cmd_status() {
    local dir bindir
    dir="$(resolve_dir "${1:-}")"
    bindir="$(find_bindir)"
    as_owner "$bindir/pg_ctl" --pgdata="$dir/data" status >/dev/null 2>&1 || { log "not running ($dir)"; exit 1; }
    url_for "$(cat "$dir/port")"
}

cmd_run() {
    [[ $# -gt 0 ]] || die "usage: $0 run CMD [ARG ...]"
    local dir url status
    dir="$(new_server_dir)"
    # shellcheck disable=SC2064 # expand $dir now
    trap "set +e; cmd_stop '$dir'" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    url="$(cmd_start "$dir")"
    export SARHAD_TEST_POSTGRES_URL="$url"
    log "SARHAD_TEST_POSTGRES_URL=$url"
    set +e
    "$@"
    status=$?
    set -e
    exit "$status"
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    run) shift; cmd_run "$@" ;;
    *) echo "usage: $0 start [DIR] | stop [DIR] | status [DIR] | run CMD [ARG ...]" >&2; exit 2 ;;
esac

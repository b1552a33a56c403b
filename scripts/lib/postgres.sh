# A throwaway PostgreSQL 15 cluster on a free 127.0.0.1 port, for scripts/test and bench/: its own
# data folder, run as the postgres user (the server refuses root), password authentication (so
# wrong credentials can be tested), fsync off (throwaway data). Source it, then:
#   start_postgres   installs PostgreSQL 15 if missing, starts it, exports PGPASSWORD and sets
#                    pg_port, pg_data and pg_url (postgres://grace@127.0.0.1:PORT/postgres)
#   stop_postgres    stops it at once and removes its folder
pg_bin=/usr/lib/postgresql/15/bin

start_postgres() {
    if [ ! -x "$pg_bin/initdb" ]; then
        echo "installing PostgreSQL 15 (Debian)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
        [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL 15 did not install" >&2; return 1; }
    fi
    pg_data=$(mktemp -d /tmp/grace-pg.XXXXXX)
    chown postgres "$pg_data"
    pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    local password=grace-$RANDOM$RANDOM
    echo "$password" >"$pg_data.pw" && chown postgres "$pg_data.pw"
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data/data" -U grace --pwfile="$pg_data.pw" --auth=scram-sha-256 -E UTF8 >/dev/null
    rm -f "$pg_data.pw"
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data/data" -l "$pg_data/server.log" -w \
        -o "-h 127.0.0.1 -p $pg_port -k $pg_data -c fsync=off -c max_connections=200" start >/dev/null \
        || { echo "PostgreSQL did not start:" >&2; cat "$pg_data/server.log" >&2; return 1; }
    # The password goes where libpq and grace-backup look for it, never into a URL that could be logged.
    export PGPASSWORD="$password"
    pg_url="postgres://grace@127.0.0.1:$pg_port/postgres"
}

stop_postgres() {
    [ -n "${pg_data:-}" ] || return 0
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_data"
}


# shellcheck shell=bash
# A throwaway PostgreSQL cluster on loopback, for scripts/test and
# scripts/bench (sourced by both). pg_start starts it with the settings in
# $pg_settings and sets pg_url; pg_stop stops and removes it. The caller
# traps EXIT with pg_stop.
pg_dir='' pg_bin='' pg_why='' pg_url='' pg_tcp_port=''
pg_settings=${pg_settings:-}
pg_stop() {
  if [ -n "$pg_dir" ]; then
    if [ -n "$pg_bin" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
      runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$pg_dir"
    pg_dir=''
  fi
}
# pg_port prints a TCP port nobody listens on at 127.0.0.1, below Linux's
# ephemeral range. pg_start retries if someone takes it meanwhile.
pg_port() {
  local port i
  for i in $(seq 50); do
    port=$((20000 + RANDOM % 10000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

pg_initdb() {
  ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

# pg_start starts the cluster and sets pg_url; on failure it sets pg_why and
# returns 1. Called as a condition, so set -e is off in it: check every step.
pg_start() {
  local initdb port try
  if [ "$(id -u)" != 0 ]; then
    pg_why="not root (initdb must run as the postgres user)"
    return 1
  fi
  initdb=$(pg_initdb)
  if [ -z "$initdb" ]; then
    echo "$(basename "$0"): installing postgresql" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; then
      pg_why="installing postgresql failed"
      return 1
    fi
    initdb=$(pg_initdb)
    if [ -z "$initdb" ]; then
      pg_why="no /usr/lib/postgresql/*/bin/initdb even after installing postgresql"
      return 1
    fi
  fi
  pg_bin=$(dirname "$initdb")
  pg_dir=$(mktemp -d /tmp/keyplane-pg.XXXXXX) || { pg_why="mktemp failed"; return 1; }
  if ! { mkdir "$pg_dir/sock" && chmod 755 "$pg_dir" && chown -R postgres: "$pg_dir"; }; then
    pg_why="cannot give $pg_dir to the postgres user"
    return 1
  fi
  if ! runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -E UTF8 --locale=C.UTF-8 \
    -A trust -U postgres --no-sync >"$pg_dir/initdb.log" 2>&1; then
    tail -n 20 "$pg_dir/initdb.log" >&2
    pg_why="initdb failed"
    return 1
  fi
  for try in 1 2 3; do
    port=$(pg_port) || { pg_why="no free TCP port found"; return 1; }
    rm -f "$pg_dir/postgres.log"
    if runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -w -t 30 -l "$pg_dir/postgres.log" \
      -o "-p $port -k $pg_dir/sock -c listen_addresses=127.0.0.1 -c max_connections=300 $pg_settings" \
      start >/dev/null 2>&1; then
      pg_url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
      pg_tcp_port=$port
      return 0
    fi
    # A port taken since pg_port looked is worth another try; anything else not.
    if ! grep -q 'could not bind\|could not create any TCP/IP sockets' "$pg_dir/postgres.log" 2>/dev/null || [ -f "$pg_dir/data/postmaster.pid" ]; then
      break
    fi
  done
  tail -n 20 "$pg_dir/postgres.log" >&2 2>/dev/null
  pg_why="pg_ctl start failed (log above)"
  return 1
}

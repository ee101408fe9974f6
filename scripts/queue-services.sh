#!/usr/bin/env bash
# Redis + a private PostgreSQL cluster for n8n's queue mode, as plain processes on loopback (no system services).
#
#   scripts/queue-services.sh start          # prints env lines (KEY=value) on stdout, progress on stderr
#   scripts/queue-services.sh stop [DIR]     # DIR = the QUEUE_SERVICES_DIR that start printed (or that env var)
#
# start:
#   - installs the Debian packages redis-server / postgresql with apt-get, only when they are missing (needs root);
#   - makes a temp folder (QUEUE_SERVICES_DIR, or one given in that env var), picks two free loopback ports;
#   - starts redis-server (no persistence) and a fresh Postgres cluster in that folder (trust auth, loopback only);
#   - creates the database `n8n` owned by the user `n8n` (password `n8n`);
#   - prints: QUEUE_SERVICES_DIR, QUEUE_BULL_REDIS_HOST/PORT, DB_POSTGRESDB_HOST/PORT/DATABASE/USER/PASSWORD.
# stop: stops exactly that Redis (its pid file) and that cluster (pg_ctl on its data folder), then removes the folder.
#   Set QUEUE_SERVICES_KEEP=1 to keep the folder (logs).
set -euo pipefail

log() { echo "[queue-services] $*" >&2; }

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

ensure_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  pg_bindir >/dev/null || missing+=(postgresql)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} with apt-get"
  # Debian's policy-rc.d in containers keeps the packaged services from starting; we start our own below.
  # Another apt-get may hold the lock (shared machine): wait for it rather than fail.
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq)
  local i
  for i in 1 2 3 4 5 6; do as_root "${apt[@]}" update >&2 && break; log "apt-get update failed (try $i), retrying"; sleep 10; done
  as_root "${apt[@]}" install -y "${missing[@]}" >&2
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Run a command as the cluster owner: `postgres` when we are root (initdb refuses root), else ourselves.
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi
}

start() {
  ensure_packages
  local PGBIN D REDIS_PORT PG_PORT t0
  t0=$(date +%s%N)
  PGBIN=$(pg_bindir)
  D="${QUEUE_SERVICES_DIR:-$(mktemp -d /tmp/crm-suite-queue-XXXXXX)}"
  mkdir -p "$D"
  chmod 755 "$D"
  REDIS_PORT=$(free_port)
  PG_PORT=$(free_port)
  while [ "$PG_PORT" = "$REDIS_PORT" ]; do PG_PORT=$(free_port); done

  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$D/redis.pid" --logfile "$D/redis.log" --dir "$D" >&2
  for _ in $(seq 1 50); do [ -s "$D/redis.pid" ] && break; sleep 0.1; done
  [ -s "$D/redis.pid" ] || { log "redis did not start: $(tail -5 "$D/redis.log" 2>/dev/null)"; exit 1; }
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.1
  done
  log "redis $REDIS_PORT (pid $(cat "$D/redis.pid"))"

  mkdir -p "$D/pg"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$D/pg"
  chmod 700 "$D/pg"
  if ! as_pg "'$PGBIN/initdb' -D '$D/pg/data' -U postgres --auth=trust -E UTF8 >'$D/pg/initdb.log' 2>&1 &&
      '$PGBIN/pg_ctl' -D '$D/pg/data' -l '$D/pg/pg.log' -o \"-p $PG_PORT -k '$D/pg' -c listen_addresses=127.0.0.1\" -w start >/dev/null"; then
    log "postgres did not start:"; tail -20 "$D/pg/initdb.log" "$D/pg/pg.log" >&2 2>/dev/null || true
    exit 1
  fi
  # Two -c options: one -c with "A; B" is one transaction, and CREATE DATABASE cannot run inside one.
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "create user n8n password 'n8n'" -c "create database n8n owner n8n" >&2
  log "postgres $PG_PORT (data $D/pg/data) — ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

  echo "QUEUE_SERVICES_DIR=$D"
  echo "QUEUE_BULL_REDIS_HOST=127.0.0.1"
  echo "QUEUE_BULL_REDIS_PORT=$REDIS_PORT"
  echo "DB_POSTGRESDB_HOST=127.0.0.1"
  echo "DB_POSTGRESDB_PORT=$PG_PORT"
  echo "DB_POSTGRESDB_DATABASE=n8n"
  echo "DB_POSTGRESDB_USER=n8n"
  echo "DB_POSTGRESDB_PASSWORD=n8n"
}

stop() {
  local D="${1:-${QUEUE_SERVICES_DIR:-}}"
  [ -n "$D" ] || { log "usage: $0 stop DIR (or QUEUE_SERVICES_DIR=DIR)"; exit 2; }
  [ -d "$D" ] || { log "$D does not exist (already stopped?)"; return 0; }
  local PGBIN
  PGBIN=$(pg_bindir || true)
  if [ -f "$D/pg/data/postmaster.pid" ] && [ -n "$PGBIN" ]; then
    as_pg "'$PGBIN/pg_ctl' -D '$D/pg/data' -m fast -w stop >/dev/null" || log "pg_ctl stop failed"
    log "postgres stopped"
  fi
  if [ -s "$D/redis.pid" ]; then
    local pid
    pid=$(cat "$D/redis.pid")
    # Only the redis-server we started: check the pid still belongs to a redis-server before signalling it.
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q redis-server; then
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      log "redis stopped (pid $pid)"
    fi
  fi
  if [ -z "${QUEUE_SERVICES_KEEP:-}" ]; then rm -rf "$D"; else log "kept $D"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop [DIR]" >&2; exit 2 ;;
esac

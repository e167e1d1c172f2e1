#!/usr/bin/env bash
# PostgreSQL 15 for the coffee-tracker lab, on the plain base image (the role the official
# image's entrypoint plays): initialise the cluster in the volume on first start, then run the
# server as user postgres on 127.0.0.1:${PGPORT}.
set -euo pipefail

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
PGPORT="${PGPORT:-15432}"
POSTGRES_DB="${POSTGRES_DB:-coffee_db}"
POSTGRES_USER="${POSTGRES_USER:-coffee}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
export PGDATA PGPORT

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

prepare_directories() {
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  chmod 2775 /var/run/postgresql
}

# Settings live in an include file rewritten at every start, so changing them here takes
# effect on restart, while ALTER SYSTEM (postgresql.auto.conf) still overrides them.
write_lab_settings() {
  cat >"$PGDATA/lab.conf" <<CONF
listen_addresses = '127.0.0.1'
port = ${PGPORT}
max_connections = 100
shared_buffers = 256MB
effective_cache_size = 1GB
maintenance_work_mem = 256MB
work_mem = 16MB
wal_buffers = 64MB
max_wal_size = 2GB
min_wal_size = 256MB
checkpoint_completion_target = 0.9
wal_compression = on
random_page_cost = 1.1
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 1
max_parallel_maintenance_workers = 2
shared_preload_libraries = 'pg_stat_statements'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 2000
CONF
  chown postgres:postgres "$PGDATA/lab.conf"
}

initialise_cluster() {
  local pwfile
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb --pgdata="$PGDATA" --username=postgres --pwfile="$pwfile" \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  # Like the official image: trust on the socket inside the container (pg_dump/pg_restore
  # from `docker compose exec`), passwords over TCP.
  cat >"$PGDATA/pg_hba.conf" <<HBA
local all all                trust
host  all all 127.0.0.1/32   scram-sha-256
HBA
  echo "include_if_exists = 'lab.conf'" >>"$PGDATA/postgresql.conf"
  write_lab_settings

  # A socket-only server for set-up, so healthchecks (over TCP) stay red until it is done.
  as_postgres pg_ctl --pgdata="$PGDATA" --silent --wait \
    -o "-c listen_addresses='' -c port=${PGPORT}" start
  as_postgres psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username=postgres --dbname=postgres \
    --set user="$POSTGRES_USER" --set password="$POSTGRES_PASSWORD" --set db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"user" LOGIN SUPERUSER PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";
\connect :"db"
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SQL
  as_postgres pg_ctl --pgdata="$PGDATA" --silent --wait --mode=fast stop
  echo "initialised cluster in $PGDATA with database $POSTGRES_DB owned by $POSTGRES_USER"
}

# The volume outlives the project directory (and its .env): a lab re-created elsewhere on the
# same machine brings a new password, so the role is brought in line with .env whenever the
# password differs from the one the cluster was last given (remembered as a hash).
sync_credentials() {
  local want have
  want="$(printf '%s' "$POSTGRES_USER:$POSTGRES_PASSWORD" | sha256sum | cut -d' ' -f1)"
  have="$(cat "$PGDATA/.lab-credentials" 2>/dev/null || true)"
  [ "$want" = "$have" ] && return 0
  as_postgres pg_ctl --pgdata="$PGDATA" --silent --wait \
    -o "-c listen_addresses='' -c port=${PGPORT}" start
  as_postgres psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username=postgres --dbname=postgres \
    --set user="$POSTGRES_USER" --set password="$POSTGRES_PASSWORD" --set db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN SUPERUSER', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" WITH LOGIN PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
  as_postgres pg_ctl --pgdata="$PGDATA" --silent --wait --mode=fast stop
  printf '%s\n' "$want" >"$PGDATA/.lab-credentials"
  chown postgres:postgres "$PGDATA/.lab-credentials"
  echo "credentials of $POSTGRES_USER synchronised with the project's .env"
}

prepare_directories
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initialise_cluster
fi
sync_credentials
write_lab_settings
exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres -D "$PGDATA"

#!/usr/bin/env bash
# Start the PostgreSQL that keeps the runs' shared state (locks, documents, run journal) on
# 127.0.0.1:18140 and write its DSN to <lab dir>/state/dsn. Idempotent: a second run finds it
# up and returns at once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ ! -x "${pg_bin}/initdb" ]]; then
    echo "lab-up: installing postgresql-15" >&2
    if ! apt-cache policy postgresql-15 2>/dev/null | grep -q Candidate; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi

mkdir -p "${state_root}"
chmod 0755 "${state_root}"
password_file="${state_root}/password"
if [[ ! -s "${password_file}" ]]; then
    (umask 077 && head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"${password_file}")
fi
password="$(cat "${password_file}")"

if [[ ! -f "${pg_data}/PG_VERSION" ]]; then
    mkdir -p "${pg_data%/data}" "${pg_sock}"
    chown postgres:postgres "${pg_data%/data}" "${pg_sock}"
    as_postgres "${pg_bin}/initdb" -D "${pg_data}" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"${pg_data}/postgresql.conf" <<CONF

# appops lab: the runs' shared state. Loopback only, its own port.
listen_addresses = '127.0.0.1'
port = ${pg_port}
unix_socket_directories = '${pg_sock}'
max_connections = 100
shared_buffers = 32MB
CONF
fi

if ! port_open; then
    as_postgres "${pg_bin}/pg_ctl" -D "${pg_data}" -l "${pg_data%/data}/postgresql.log" -w -t 60 start >/dev/null
fi

psql_admin() { as_postgres "${pg_bin}/psql" -h "${pg_sock}" -p "${pg_port}" -U postgres -d postgres -qtAX "$@"; }
if [[ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'appops_state'")" != 1 ]]; then
    psql_admin -c "CREATE ROLE appops_state LOGIN PASSWORD '${password}'"
fi
if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'appops_state'")" != 1 ]]; then
    psql_admin -c "CREATE DATABASE appops_state OWNER appops_state"
fi

dsn="postgresql://appops_state:${password}@127.0.0.1:${pg_port}/appops_state"
if [[ ! -f "${dsn_file}" || "$(cat "${dsn_file}")" != "${dsn}" ]]; then
    (umask 077 && printf '%s\n' "${dsn}" >"${dsn_file}.new" && mv "${dsn_file}.new" "${dsn_file}")
fi

# Also export it in lab/cli.env (written by lab/emulators/lab-up.sh, which runs before this
# component): the line is replaced in place, keeping the file's mode, so the lab CLI, the tests
# and a shell that sources the file all see the same DSN.
cli_env="$(readlink -f "${repo}/lab/cli.env" 2>/dev/null || true)"
if [[ -n "${cli_env}" && -f "${cli_env}" ]] && ! grep -qxF "APPOPS_STATE_DSN=${dsn}" "${cli_env}"; then
    grep -v '^APPOPS_STATE_DSN=' "${cli_env}" >"${cli_env}.state-new" || true
    printf 'APPOPS_STATE_DSN=%s\n' "${dsn}" >>"${cli_env}.state-new"
    chmod --reference="${cli_env}" "${cli_env}.state-new"
    mv "${cli_env}.state-new" "${cli_env}"
fi

echo "lab-up: state PostgreSQL on 127.0.0.1:${pg_port}, DSN in ${dsn_file}"

#!/usr/bin/env bash
# Show whether the state PostgreSQL answers and how many locks and unfinished runs it holds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if ! port_open; then
    echo "state PostgreSQL: down (127.0.0.1:${pg_port})"
    exit 0
fi
counts="$(as_postgres "${pg_bin}/psql" -h "${pg_sock}" -p "${pg_port}" -U postgres -d appops_state -qtAX -c \
    "SELECT CASE WHEN to_regclass('appops_locks') IS NULL THEN 'no tables yet' ELSE
       (SELECT count(*) FROM appops_locks) || ' lock(s), ' ||
       (SELECT count(*) FROM appops_runs WHERE finished_at IS NULL) || ' unfinished run(s)' END" 2>/dev/null || echo "?")"
echo "state PostgreSQL: up on 127.0.0.1:${pg_port}, ${counts}, DSN in ${dsn_file}"

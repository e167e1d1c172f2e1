#!/usr/bin/env bash
# Stop the state PostgreSQL (its data and DSN stay for the next lab-up.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ -f "${pg_data}/postmaster.pid" ]]; then
    as_postgres "${pg_bin}/pg_ctl" -D "${pg_data}" -m fast -w -t 60 stop >/dev/null
fi
echo "lab-down: state PostgreSQL stopped"

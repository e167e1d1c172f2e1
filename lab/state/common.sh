# Shared by lab-up.sh, lab-down.sh and lab-status.sh of the state PostgreSQL (sourced).
# The cluster is the lab's own: initdb'd under <lab dir>/state, 127.0.0.1 only, its own port.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
lab_dir="${APPOPS_LAB_DIR:-${repo}/.lab}"
state_root="${lab_dir}/state"
pg_bin="${APPOPS_STATE_PG_BIN:-/usr/lib/postgresql/15/bin}"
pg_port="${APPOPS_STATE_PG_PORT:-18140}"
pg_data="${state_root}/pg/data"
pg_sock="${state_root}/pg/sock"
# The file the lab inventory reads the DSN from (inventories/lab/group_vars/all.yml).
dsn_file="${state_root}/dsn"

as_postgres() { runuser -u postgres -- "$@"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/${pg_port}") 2>/dev/null; }

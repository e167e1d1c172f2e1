#!/usr/bin/env bash
# Start the Atlas part of the lab on 127.0.0.1: the real MongoDB clients (mongosh, mongodump,
# mongorestore, installed once under .lab/tools), one nx-27017 server per emulated cluster
# (micmap 18310, fixzit 18311) and the Atlas Admin API emulator (18300); add the ATLAS_* and
# *_MONGODB_URI lines to lab/cli.env. Idempotent: a re-run that finds everything up takes ~1 s.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
python="${APPOPS_PYTHON:-${repo}/.venv/bin/python}"
[[ -x "${python}" ]] || python="$(command -v python3)"

# The Python parts the clusters and the emulator stand on; installed once (pinned in requirements-lab.txt
# and, pymongo, requirements.txt).
if ! "${python}" -c 'import nx_27017, neosqlite, pymongo' 2>/dev/null; then
    echo "lab-up: installing nx-27017, neosqlite, pymongo" >&2
    "${python}" -m pip install -q "$(grep -E '^nx-27017==' "${repo}/requirements-lab.txt")" \
        "$(grep -E '^neosqlite==' "${repo}/requirements-lab.txt")" "$(grep -E '^pymongo==' "${repo}/requirements.txt")"
fi
command -v npm >/dev/null 2>&1 || { echo "lab-up: npm is needed to install mongosh and the database tools" >&2; exit 1; }

exec bash "${here}/atlas.sh" up --cli-env "${ATLAS_EMU_CLI_ENV:-${repo}/lab/cli.env}" "$@"

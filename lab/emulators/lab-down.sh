#!/usr/bin/env bash
# Stop the lab's API emulators and the PostgreSQL/Redis they started (data under .lab stays).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
python="${APPOPS_PYTHON:-${repo}/.venv/bin/python}"
[[ -x "${python}" ]] || python="$(command -v python3)"

PYTHONPATH="${here}" exec "${python}" -m heroku down "$@"

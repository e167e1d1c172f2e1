#!/usr/bin/env bash
# Show whether the Heroku emulator answers, and where its state and logs are.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
python="${APPOPS_PYTHON:-${repo}/.venv/bin/python}"
[[ -x "${python}" ]] || python="$(command -v python3)"

state="$(PYTHONPATH="${here}" "${python}" -m heroku status)"
echo "heroku emulator: ${state} (API http://127.0.0.1:18100, apps http://127.0.0.1:18101/<app>/, state ${APPOPS_LAB_DIR:-${repo}/.lab}/heroku)"

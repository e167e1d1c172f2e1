#!/usr/bin/env bash
# Run the Atlas lab's command line (python -m atlas SUBCOMMAND ...) with the project's venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
python="${APPOPS_PYTHON:-${repo}/.venv/bin/python}"
[[ -x "${python}" ]] || python="$(command -v python3)"
PYTHONPATH="${repo}/lab/emulators" exec "${python}" -m atlas "$@"

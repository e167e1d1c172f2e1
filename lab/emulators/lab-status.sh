#!/usr/bin/env bash
# Show whether the lab's emulators answer, and where their state and logs are.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
python="${APPOPS_PYTHON:-${repo}/.venv/bin/python}"
[[ -x "${python}" ]] || python="$(command -v python3)"

state="$(PYTHONPATH="${here}" "${python}" -m heroku status)"
echo "heroku emulator: ${state} (API http://127.0.0.1:18100, apps http://127.0.0.1:18101/<app>/, state ${APPOPS_LAB_DIR:-${repo}/.lab}/heroku)"
state="$(PYTHONPATH="${here}" "${python}" -m vercel status)"
echo "vercel emulator: ${state} (API http://127.0.0.1:${VERCEL_EMU_API_PORT:-18200}, domains http://127.0.0.1:${VERCEL_EMU_DOMAIN_PORT:-18201}/<domain>/, state ${APPOPS_LAB_DIR:-${repo}/.lab}/vercel)"
state="$(PYTHONPATH="${here}" "${python}" -m supabase status)"
echo "supabase emulator: ${state} (API http://127.0.0.1:${SUPABASE_EMU_API_PORT:-18400}, state ${APPOPS_LAB_DIR:-${repo}/.lab}/supabase)"

#!/usr/bin/env bash
# Stop the lab's API emulators and the PostgreSQL/Redis they started (data under .lab stays).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
python="${APPOPS_PYTHON:-${repo}/.venv/bin/python}"
[[ -x "${python}" ]] || python="$(command -v python3)"

emulators="${APPOPS_LAB_EMULATORS:-heroku vercel supabase}"
if [[ " ${emulators} " == *" supabase "* ]]; then
    if [[ " ${emulators} " == *" heroku "* || " ${emulators} " == *" vercel "* ]]; then
        # PostgreSQL is shared: the Heroku (or Vercel) emulator's stop takes it down.
        PYTHONPATH="${here}" "${python}" -m supabase down --keep-services
    else
        PYTHONPATH="${here}" "${python}" -m supabase down "$@"
    fi
fi
if [[ " ${emulators} " == *" vercel "* ]]; then
    if [[ " ${emulators} " == *" heroku "* ]]; then
        # PostgreSQL and Redis are shared: the Heroku emulator's stop takes them down.
        PYTHONPATH="${here}" "${python}" -m vercel down --keep-services
    else
        PYTHONPATH="${here}" "${python}" -m vercel down "$@"
    fi
fi
if [[ " ${emulators} " == *" heroku "* ]]; then
    PYTHONPATH="${here}" "${python}" -m heroku down "$@"
fi

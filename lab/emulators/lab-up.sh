#!/usr/bin/env bash
# Start the lab's API emulators (Heroku, Vercel, Supabase) on 127.0.0.1 and write lab/cli.env.
# APPOPS_LAB_EMULATORS picks which (default "heroku vercel supabase"); the emulator tests start one each.
# Idempotent: a second run finds everything up and returns in about a second.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
python="${APPOPS_PYTHON:-${repo}/.venv/bin/python}"
[[ -x "${python}" ]] || python="$(command -v python3)"

# The host packages the emulator stands on; install them once on a fresh machine.
missing=()
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || missing+=(postgresql-15)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if ((${#missing[@]})); then
    echo "lab-up: installing ${missing[*]}" >&2
    # A fresh Debian image has no package lists yet; update only when they are missing.
    if ! apt-cache policy "${missing[0]}" 2>/dev/null | grep -q Candidate; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

emulators="${APPOPS_LAB_EMULATORS:-heroku vercel supabase}"
cli_env="${HEROKU_EMU_CLI_ENV:-${repo}/lab/cli.env}"
if [[ " ${emulators} " == *" heroku "* ]]; then
    PYTHONPATH="${here}" "${python}" -m heroku up --cli-env "${cli_env}" "$@"
fi
if [[ " ${emulators} " == *" vercel "* ]]; then
    # Adds its own block to the same file (and keeps it 0600).
    PYTHONPATH="${here}" "${python}" -m vercel up --cli-env "${VERCEL_EMU_CLI_ENV:-${cli_env}}" "$@"
fi
if [[ " ${emulators} " == *" supabase "* ]]; then
    # Its projects' databases live in the same PostgreSQL cluster; it adds its own block to cli.env.
    PYTHONPATH="${here}" "${python}" -m supabase up --cli-env "${SUPABASE_EMU_CLI_ENV:-${cli_env}}" "$@"
fi

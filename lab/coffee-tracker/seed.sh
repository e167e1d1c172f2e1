#!/usr/bin/env bash
# Loads synthetic data into the running lab with server-side generate_series:
#   seed.sh ROWS [--jobs N] [--audit-rows N] [--if-empty]
# appends ROWS to coffee_logs and ROWS/10 to heart_rates (N parallel sessions, default 2) and
# a few audit events to the SQLite store. ~9 M rows make about 1 GB (see README.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
PROJECT_DIR="${APPOPS_LAB_DIR:-$repo_root/.lab}/coffee-tracker"

[ $# -ge 1 ] || { echo "usage: seed.sh ROWS [--jobs N] [--audit-rows N] [--if-empty]" >&2; exit 2; }
# The seeder ships in the app image, so it uses the app's own schema and connection settings.
exec docker compose --project-directory "$PROJECT_DIR" -f "$PROJECT_DIR/compose.yaml" \
  exec -T coffee-tracker python3 -m coffee_tracker.seed "$@"

#!/usr/bin/env bash
# Shows the coffee-tracker lab: containers, the app's /health and the deployed release.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
PROJECT_DIR="${APPOPS_LAB_DIR:-$repo_root/.lab}/coffee-tracker"

if [ ! -f "$PROJECT_DIR/compose.yaml" ]; then
  echo "coffee-tracker: not set up ($PROJECT_DIR missing; run lab/coffee-tracker/lab-up.sh)"
  exit 0
fi
docker compose --project-directory "$PROJECT_DIR" ps --format 'table {{.Service}}\t{{.Name}}\t{{.Status}}'
printf 'health: '
curl --silent --show-error --max-time 5 --write-out ' (HTTP %{http_code})\n' \
  http://127.0.0.1:18000/health || echo "no answer on 127.0.0.1:18000"
if [ -f "$PROJECT_DIR/.appops/deployments.json" ]; then
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["current"]; print("deployed:", c["ref"], c["image"], c["deployed_at"])' \
    "$PROJECT_DIR/.appops/deployments.json"
fi
if [ -f "$PROJECT_DIR/state/maintenance.json" ]; then
  echo "maintenance: ON ($PROJECT_DIR/state/maintenance.json)"
fi

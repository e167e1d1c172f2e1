#!/usr/bin/env bash
# Stops the coffee-tracker lab stack, keeping its data (the PostgreSQL volume, data/, backups/).
#   lab-down.sh           docker compose down
#   lab-down.sh --purge   also remove the volume, the project dir, the lab git repository and
#                         the coffee-tracker images, so the next lab-up.sh starts from nothing
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
LAB_DIR="${APPOPS_LAB_DIR:-$repo_root/.lab}"
PROJECT_DIR="$LAB_DIR/coffee-tracker"
GIT_REPO="$LAB_DIR/git/coffee-tracker.git"

purge=0
case "${1:-}" in
  "") ;;
  --purge) purge=1 ;;
  *) echo "usage: lab-down.sh [--purge]" >&2; exit 2 ;;
esac

down_args=(down --remove-orphans)
[ "$purge" -eq 1 ] && down_args+=(--volumes)
if [ -f "$PROJECT_DIR/compose.yaml" ]; then
  # A throwaway image value keeps compose's required-variable checks quiet if .env is incomplete.
  COFFEE_TRACKER_IMAGE="${COFFEE_TRACKER_IMAGE:-unused}" docker compose \
    --project-directory "$PROJECT_DIR" -f "$PROJECT_DIR/compose.yaml" "${down_args[@]}"
else
  docker compose -p coffee-tracker "${down_args[@]}"
fi

if [ "$purge" -eq 1 ]; then
  docker volume rm -f coffee-tracker_pgdata >/dev/null
  # Bind-mounted files may belong to container users; root removes them all.
  rm -rf "$PROJECT_DIR" "$GIT_REPO"
  images="$(docker image ls -q --filter label=appops.lab=coffee-tracker | sort -u)"
  if [ -n "$images" ]; then
    # shellcheck disable=SC2086 # one id per word
    docker image rm -f $images >/dev/null
  fi
  echo "coffee-tracker lab purged"
fi

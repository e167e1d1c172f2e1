#!/usr/bin/env bash
# Brings the local lab up or down, or shows what runs.
#
#   scripts/lab.sh up       set-up (unless LAB_SKIP_SETUP=1), then each component's lab-up.sh
#   scripts/lab.sh down     each component's lab-down.sh, in reverse order
#   scripts/lab.sh status   the engine, compose projects, containers and each component's lab-status.sh
#
# A component is a folder lab/<name>/ with a lab-up.sh (and usually lab-down.sh, optionally
# lab-status.sh). LAB_COMPONENTS fixes the order of the known ones; any other lab/*/lab-up.sh
# runs after them in name order. Missing scripts are skipped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_COMPONENTS="${LAB_COMPONENTS:-coffee-tracker emulators}"
export VENV="${VENV:-$ROOT/.venv}"
# Component scripts find ansible, python and docker compose the same way the tests do.
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.collections}"

say() { printf 'lab: %s\n' "$*"; }

ordered_components() {
  local name seen=" "
  for name in $LAB_COMPONENTS; do
    [[ -d "$ROOT/lab/$name" ]] || continue
    seen+="$name "
    echo "$name"
  done
  local script
  for script in "$ROOT"/lab/*/lab-up.sh; do
    [[ -e "$script" ]] || continue
    name="$(basename "$(dirname "$script")")"
    [[ "$seen" == *" $name "* ]] || echo "$name"
  done
}

run_component_script() {
  local name="$1" script="$ROOT/lab/$1/$2"
  if [[ ! -f "$script" ]]; then
    say "$name: no $2 (skipped)"
    return 0
  fi
  local started=$SECONDS
  say "$name: $2"
  (cd "$ROOT" && bash "$script")
  say "$name: $2 done in $((SECONDS - started)) s"
}

lab_up() {
  if [[ "${LAB_SKIP_SETUP:-0}" != 1 ]]; then
    bash "$ROOT/scripts/setup.sh"
  fi
  local name components
  mapfile -t components < <(ordered_components)
  if [[ ${#components[@]} -eq 0 ]]; then
    say "no lab components yet (lab/<name>/lab-up.sh)"
  fi
  for name in "${components[@]}"; do
    run_component_script "$name" lab-up.sh
  done
  say "up"
}

lab_down() {
  local components i
  mapfile -t components < <(ordered_components)
  for ((i = ${#components[@]} - 1; i >= 0; i--)); do
    run_component_script "${components[i]}" lab-down.sh
  done
  say "down"
}

lab_status() {
  if ! curl -sf --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; then
    say "dockerd: not answering on /var/run/docker.sock (run: make setup)"
    return 0
  fi
  say "dockerd: $(docker version --format '{{.Server.Version}}' 2>/dev/null) running"
  echo "== compose projects"
  docker compose ls --all 2>/dev/null || true
  echo "== containers"
  docker ps --all --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'
  local name
  while read -r name; do
    [[ -f "$ROOT/lab/$name/lab-status.sh" ]] || continue
    echo "== $name"
    (cd "$ROOT" && bash "lab/$name/lab-status.sh") || true
  done < <(ordered_components)
}

case "${1:-}" in
  up) lab_up ;;
  down) lab_down ;;
  status) lab_status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac

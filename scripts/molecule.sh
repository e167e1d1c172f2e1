#!/usr/bin/env bash
# Runs molecule scenarios of the collection's roles.
#
#   scripts/molecule.sh                   `molecule test` for every extensions/molecule/*/
#   scripts/molecule.sh compose redis     only those scenarios
#   MOLECULE_COMMAND=converge scripts/molecule.sh compose    another molecule command
#
# Scenarios live in extensions/molecule/<name>/molecule.yml and call roles by FQCN; molecule runs
# from extensions/ with ANSIBLE_COLLECTIONS_PATH at .collections, where appops.runbooks links to
# this checkout (scripts/setup.sh). Exit status is non-zero when any scenario failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
# The lab inventory's paths (the compose project, the SSH key) come from APPOPS_LAB_DIR: molecule's
# own inventory directory is elsewhere, so the inventory_dir fallback would miss the lab.
export APPOPS_LAB_DIR="${APPOPS_LAB_DIR:-$ROOT/.lab}"
command="${MOLECULE_COMMAND:-test}"

scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
  for file in "$ROOT"/extensions/molecule/*/molecule.yml; do
    [[ -e "$file" ]] && scenarios+=("$(basename "$(dirname "$file")")")
  done
fi
if [[ ${#scenarios[@]} -eq 0 ]]; then
  echo "molecule: no scenarios yet (extensions/molecule/<name>/molecule.yml)"
  exit 0
fi

failed=()
cd "$ROOT/extensions"
for name in "${scenarios[@]}"; do
  [[ -f "molecule/$name/molecule.yml" ]] || { echo "molecule: no scenario '$name'" >&2; failed+=("$name"); continue; }
  started=$SECONDS
  echo "molecule: $command -s $name"
  if molecule "$command" -s "$name"; then
    echo "molecule: $name passed ($((SECONDS - started)) s)"
  else
    echo "molecule: $name FAILED ($((SECONDS - started)) s)"
    failed+=("$name")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "molecule: failed: ${failed[*]}"
  exit 1
fi

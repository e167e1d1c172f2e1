#!/usr/bin/env bash
# Runs `ansible-test sanity` on a copy of the collection.
#
# ansible-test needs the collection to really sit at .../ansible_collections/appops/runbooks (a
# symlink is refused), so the tree is mirrored to build/ with rsync (fast after the first run).
# Extra arguments go to ansible-test, e.g. `scripts/sanity.sh --test pylint plugins/modules/x.py`.
# Knobs: VENV (default .venv), SANITY_PYTHON (default 3.11).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
COPY="$ROOT/build/ansible_collections/appops/runbooks"
# The venv first on PATH: ansible-test then finds python3.11 with ansible-core installed.
export PATH="$VENV/bin:$PATH"

mkdir -p "$COPY"
# Local state, caches, generated files and the lab (repository tooling, not shipped: see
# galaxy.yml build_ignore) are not part of the collection. tests/output is
# ansible-test's own output in the copy: excluded, so --delete leaves it alone.
# --delete-excluded drops what an earlier, wider copy left behind; P keeps ansible-test's own
# output and the copy's git repository.
rsync -a --delete --delete-excluded --filter='P /tests/output' --filter='P /.git' \
  --exclude=/.venv --exclude=/.lab --exclude=/.collections --exclude=/build --exclude=/.git \
  --exclude=/.ansible --exclude=/.cache --exclude=/tests/output --exclude=node_modules \
  --exclude=__pycache__ --exclude=.pytest_cache --exclude='*.tar.gz' --exclude=/lab --exclude=/bench --exclude=/scripts \
  "$ROOT/" "$COPY/"

cd "$COPY"
# ansible-test lists files with git when it finds a .git in the copy or ANY parent folder; the
# copy sits in the git-ignored build/ of this checkout, so it would see no files at all. A
# repository of its own in the copy (no commits needed: untracked files count) makes it list
# exactly what .gitignore does not ignore.
if [[ ! -d .git ]]; then
  git init -q .
fi
echo "sanity: ansible-test sanity in $COPY"
ansible-test sanity --python "${SANITY_PYTHON:-3.11}" --color no "$@"

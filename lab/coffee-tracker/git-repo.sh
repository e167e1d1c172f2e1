#!/usr/bin/env bash
# Builds the app's release history into a bare git repository, deterministically:
#   v1.0.0        the first release (no /coffee/stats yet)
#   v1.1.0        adds /coffee/stats (this is the tree in lab/coffee-tracker/app/ as it is)
#   v1.2.0-broken /health probes a table whose migration was never shipped -> 503 (health gate fails)
# Commits use a fixed author, committer and date, so the same source gives the same SHAs on
# every run and every machine. Usage: git-repo.sh BARE_REPO_DIR
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app_src="$here/app"
bare="${1:?usage: git-repo.sh BARE_REPO_DIR}"

# Keep the user's and the system's git configuration (signing, hooks, autocrlf) out of it.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Coffee Tracker Team" GIT_AUTHOR_EMAIL="team@coffee-tracker.example"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
git init -q -b main "$repo"

# Replace the work tree with the app source, then apply one release's edits.
load_source_tree() {
  find "$repo" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  tar -C "$app_src" --exclude=__pycache__ --exclude='*.pyc' -cf - . | tar -C "$repo" -xf -
}

# sed that must change the file, so a drifted source fails here instead of tagging a wrong release.
edit_release() {
  local expression="$1" file="$repo/coffee_tracker/release.py" before
  before="$(cat "$file")"
  sed -i -e "$expression" "$file"
  if [ "$before" = "$(cat "$file")" ]; then
    echo "git-repo.sh: '$expression' changed nothing in release.py" >&2
    exit 1
  fi
}

commit_release() {
  local ref="$1" date="$2" message="$3"
  printf '%s\n' "$ref" >"$repo/VERSION"
  git -C "$repo" add -A
  GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" git -C "$repo" commit -q -m "$message"
  git -C "$repo" tag "$ref"
}

load_source_tree
edit_release 's/^FEATURES: .*/FEATURES: frozenset[str] = frozenset({"heartrate"})/'
commit_release v1.0.0 "2025-01-06T09:00:00+00:00" "Coffee Tracker 1.0.0: coffee and heart rate logging"

load_source_tree
commit_release v1.1.0 "2025-02-03T09:00:00+00:00" "Coffee Tracker 1.1.0: add /coffee/stats"

load_source_tree
edit_release 's/^HEALTH_PROBE_SQL = .*/HEALTH_PROBE_SQL = "SELECT 1 FROM coffee_logs_v2 LIMIT 1"/'
commit_release v1.2.0-broken "2025-03-03T09:00:00+00:00" \
  "Coffee Tracker 1.2.0: health checks the v2 coffee table (its migration is not in this release)"

if [ ! -d "$bare" ]; then
  mkdir -p "$(dirname "$bare")"
  git init -q --bare -b main "$bare"
fi
# Forced so an edited app source replaces the old history; a no-op when nothing changed.
git -C "$repo" push -q --force "$bare" "+refs/heads/main:refs/heads/main" "+refs/tags/*:refs/tags/*"
git -C "$bare" for-each-ref --format='%(refname:short) %(objectname)' refs/tags

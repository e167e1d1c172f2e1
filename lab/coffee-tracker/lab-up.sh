#!/usr/bin/env bash
# Brings up the coffee-tracker lab stack; safe and fast (~1-2 s) to re-run when it is up.
#
# From nothing: builds the release history in <lab>/git/coffee-tracker.git, creates the
# project dir, deploys v1.1.0 (checkout -> image coffee-tracker:<sha12> -> .env -> compose up),
# seeds a small dataset and writes .appops/deployments.json. A re-run never touches a later
# deploy (the image in .env), the data or the deploy history; it only starts what is not up.
# The contract with the Ansible roles is in README.md next to this script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
LAB_DIR="${APPOPS_LAB_DIR:-$repo_root/.lab}"
PROJECT_DIR="$LAB_DIR/coffee-tracker"
GIT_REPO="$LAB_DIR/git/coffee-tracker.git"
BASE_IMAGE="appops-lab/base:bookworm-1"
INITIAL_REF="${COFFEE_TRACKER_INITIAL_REF:-v1.1.0}"
SEED_ROWS="${COFFEE_TRACKER_SEED_ROWS:-1000}"
BASE_WAIT_S="${APPOPS_BASE_IMAGE_WAIT:-600}"
DEPLOYMENTS="$PROJECT_DIR/.appops/deployments.json"
SERVICES=(postgres redis coffee-tracker)
postgres_restart_needed=0

log() { printf '[coffee-tracker] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
compose() { docker compose --project-directory "$PROJECT_DIR" -f "$PROJECT_DIR/compose.yaml" "$@"; }

wait_for_base_image() {
  local waited=0
  until docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; do
    [ "$waited" -ge "$BASE_WAIT_S" ] && die "$BASE_IMAGE not found (build it with lab/images/build-base.sh)"
    [ "$waited" -eq 0 ] && log "waiting for $BASE_IMAGE (lab/images/build-base.sh)"
    sleep 5
    waited=$((waited + 5))
  done
}

# Copies a file only when its content differs; returns 0 when it changed something.
install_if_changed() {
  local source="$1" target="$2" mode="$3"
  if cmp -s "$source" "$target"; then
    return 1
  fi
  install -D -m "$mode" "$source" "$target"
}

env_get() {
  sed -n "s/^$1=//p" "$PROJECT_DIR/.env" | tail -n 1
}

# Sets KEY=VALUE in .env (replacing the line or appending it) with an atomic rename.
env_set() {
  local key="$1" value="$2" tmp
  tmp="$(mktemp "$PROJECT_DIR/.env.XXXXXX")"
  grep -v "^$key=" "$PROJECT_DIR/.env" >"$tmp" || true
  printf '%s=%s\n' "$key" "$value" >>"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$PROJECT_DIR/.env"
}

random_secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

write_env_if_missing() {
  [ -f "$PROJECT_DIR/.env" ] && return 0
  log "writing $PROJECT_DIR/.env"
  umask 077
  cat >"$PROJECT_DIR/.env" <<ENV
# coffee-tracker lab settings, written once by lab-up.sh. Deploys change COFFEE_TRACKER_IMAGE,
# scaling changes COFFEE_TRACKER_REPLICAS; then \`docker compose up -d\` applies them.
COMPOSE_PROJECT_NAME=coffee-tracker
POSTGRES_PASSWORD=$(random_secret)
COFFEE_API_KEY=$(random_secret)
COFFEE_TEST_API_KEY=$(random_secret)
COFFEE_RATE_LIMIT=100
COFFEE_RATE_WINDOW_SECONDS=60
COFFEE_TRACKER_REPLICAS=1
LOG_LEVEL=info
ENV
  umask 022
}

# Installs compose.yaml and the PostgreSQL entrypoint; returns 0 when either changed.
prepare_project_dir() {
  mkdir -p "$PROJECT_DIR"/{data,state,backups,.appops}
  local changed=1
  install_if_changed "$here/compose.yaml" "$PROJECT_DIR/compose.yaml" 0644 && changed=0
  if install_if_changed "$here/postgres/entrypoint.sh" "$PROJECT_DIR/postgres/entrypoint.sh" 0755; then
    changed=0
    # Compose cannot see a bind-mounted file change; the settings apply at the next start.
    postgres_restart_needed=1
  fi
  return "$changed"
}

# Checks out REF into <project>/src and builds coffee-tracker:<sha12>; prints the image name.
build_release_image() {
  local ref="$1" sha image output
  sha="$(git -C "$GIT_REPO" rev-parse --verify "$ref^{commit}")"
  image="coffee-tracker:${sha:0:12}"
  if [ ! -d "$PROJECT_DIR/src/.git" ]; then
    rm -rf "$PROJECT_DIR/src"
    git clone -q "$GIT_REPO" "$PROJECT_DIR/src"
  fi
  git -C "$PROJECT_DIR/src" fetch -q --force --tags origin
  git -C "$PROJECT_DIR/src" checkout -q --force --detach "$sha"
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    log "building $image from $ref ($sha)"
    # BuildKit (buildx) is not installed here; the legacy builder needs no registry either.
    if ! output="$(DOCKER_BUILDKIT=0 docker build \
      --label "org.opencontainers.image.revision=$sha" \
      --label "org.opencontainers.image.version=$ref" \
      -t "$image" "$PROJECT_DIR/src" 2>&1)"; then
      printf '%s\n' "$output" >&2
      die "docker build of $ref failed"
    fi
  fi
  printf '%s %s\n' "$sha" "$image"
}

# The image named in .env must exist before `up` (pull_policy never): rebuild it if pruned.
ensure_configured_image() {
  local image sha ref
  image="$(env_get COFFEE_TRACKER_IMAGE)"
  [ -n "$image" ] || die "COFFEE_TRACKER_IMAGE missing from $PROJECT_DIR/.env"
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  sha="$(git -C "$GIT_REPO" rev-parse --verify "${image#coffee-tracker:}^{commit}" 2>/dev/null)" \
    || die "image $image is missing and ${image#coffee-tracker:} is not a commit of $GIT_REPO"
  ref="$(git -C "$GIT_REPO" describe --tags --exact-match "$sha" 2>/dev/null || echo "$sha")"
  build_release_image "$ref" >/dev/null
}

# True when every service has a running container whose healthcheck passes.
stack_healthy() {
  local status service
  status="$(docker ps --filter label=com.docker.compose.project=coffee-tracker \
    --format '{{.Label "com.docker.compose.service"}} {{.Status}}')"
  for service in "${SERVICES[@]}"; do
    grep -q "^$service Up .*(healthy)" <<<"$status" || return 1
  done
}

write_deployments_file() {
  local ref="$1" sha="$2" image="$3"
  python3 - "$DEPLOYMENTS" "$ref" "$sha" "$image" <<'PY'
import json, os, sys, datetime
path, ref, sha, image = sys.argv[1:5]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
entry = {"ref": ref, "sha": sha, "image": image, "deployed_at": now}
tmp = path + ".tmp"
with open(tmp, "w", encoding="utf-8") as handle:
    json.dump({"current": entry, "history": [entry]}, handle, indent=2)
    handle.write("\n")
os.replace(tmp, path)
PY
}

main() {
  local started=$SECONDS new=0 config_changed=0 sha image
  wait_for_base_image
  "$here/git-repo.sh" "$GIT_REPO" >/dev/null
  prepare_project_dir && config_changed=1
  write_env_if_missing
  [ -f "$DEPLOYMENTS" ] || new=1

  if [ "$new" -eq 1 ]; then
    read -r sha image < <(build_release_image "$INITIAL_REF") || true
    [ -n "${image:-}" ] || die "could not build $INITIAL_REF"
    env_set COFFEE_TRACKER_IMAGE "$image"
  else
    ensure_configured_image
  fi

  if [ "$new" -eq 0 ] && [ "$postgres_restart_needed" -eq 1 ] && stack_healthy; then
    log "PostgreSQL entrypoint changed: restarting postgres"
    compose restart postgres >/dev/null 2>&1
  fi
  if [ "$new" -eq 1 ] || [ "$config_changed" -eq 1 ] || ! stack_healthy; then
    log "starting the stack (docker compose up -d --wait)"
    if ! compose up -d --wait --wait-timeout 180 --remove-orphans 2>&1 | sed 's/^/  /' >&2; then
      die "docker compose up failed; see: docker compose --project-directory $PROJECT_DIR logs"
    fi
  fi

  if [ "$new" -eq 1 ]; then
    log "seeding $SEED_ROWS rows (only into an empty database)"
    "$here/seed.sh" "$SEED_ROWS" --if-empty >/dev/null
    write_deployments_file "$INITIAL_REF" "$sha" "$image"
    log "deployed $INITIAL_REF as $image"
  fi
  log "up in $((SECONDS - started)) s: http://127.0.0.1:18000/health (project $PROJECT_DIR)"
}

main "$@"

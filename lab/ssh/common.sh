# shellcheck shell=bash disable=SC2034 # the names are used by the scripts that source this file
# Names shared by the lab/ssh scripts. The inventory (inventories/lab/host_vars/coffee-tracker.yml)
# uses the same user, address, port and file names.
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LAB_DIR="${APPOPS_LAB_DIR:-$repo_root/.lab}"
SSH_DIR="$LAB_DIR/ssh"
SSH_USER=appops
SSH_HOST=127.0.0.1
SSH_PORT=18022
SUDOERS=/etc/sudoers.d/appops-lab
SSHD_CONFIG="$SSH_DIR/sshd_config"
HOST_KEY="$SSH_DIR/ssh_host_ed25519_key"
CLIENT_KEY="$SSH_DIR/id_ed25519"
AUTHORIZED_KEYS="$SSH_DIR/authorized_keys"
KNOWN_HOSTS="$SSH_DIR/known_hosts"
PID_FILE="$SSH_DIR/sshd.pid"
SSHD_LOG="$SSH_DIR/sshd.log"

log() { printf '[ssh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Writes CONTENT (plus a newline) to FILE with MODE when it differs; returns 0 when it wrote.
write_if_changed() {
  local file="$1" mode="$2" content="$3"
  if [[ -f "$file" && "$(cat "$file")" == "$content" ]]; then
    return 1
  fi
  printf '%s\n' "$content" >"$file.tmp"
  chmod "$mode" "$file.tmp"
  mv "$file.tmp" "$file"
}

# True when the pid file names a live sshd (a pid reused by another program does not count).
sshd_running() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(cat "$PID_FILE")"
  [[ -n "$pid" && "$(readlink "/proc/$pid/exe" 2>/dev/null)" == /usr/sbin/sshd ]]
}

# Runs a command on the lab host the way Ansible gets there: key, known host, no prompts.
lab_ssh() {
  ssh -p "$SSH_PORT" -i "$CLIENT_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$KNOWN_HOSTS" -o StrictHostKeyChecking=yes -o ConnectTimeout=5 \
    "$SSH_USER@$SSH_HOST" "$@"
}

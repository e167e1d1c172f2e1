#!/usr/bin/env bash
# Stops the lab's sshd, keeping its keys and the appops user.
#   lab-down.sh           stop sshd
#   lab-down.sh --purge   also remove <lab>/ssh (keys, config, log), the sudoers entry and the user
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lab/ssh/common.sh
. "$here/common.sh"

purge=0
case "${1:-}" in
  "") ;;
  --purge) purge=1 ;;
  *) echo "usage: lab-down.sh [--purge]" >&2; exit 2 ;;
esac
if [[ "$(id -u)" != 0 ]]; then
  exec sudo -n --preserve-env=APPOPS_LAB_DIR bash "$0" "$@"
fi

if sshd_running; then
  pid="$(cat "$PID_FILE")"
  log "stopping sshd ($pid)"
  kill "$pid"
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
fi
rm -f "$PID_FILE"

if [[ "$purge" == 1 ]]; then
  rm -rf "$SSH_DIR" "$SUDOERS"
  if id "$SSH_USER" >/dev/null 2>&1; then
    userdel --remove "$SSH_USER" 2>/dev/null || userdel "$SSH_USER"
  fi
  log "purged"
fi

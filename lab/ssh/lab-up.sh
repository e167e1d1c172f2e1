#!/usr/bin/env bash
# Runs the lab's own SSH server, through which the playbooks reach coffee-tracker the way they
# reach a production compose host: ssh as an unprivileged user, root through sudo (become).
# Safe and fast (~0.2 s) to re-run: it changes only what differs and then proves a login.
#
#   user      appops (no password: key only), password-less sudo in /etc/sudoers.d/appops-lab
#   sshd      Debian's openssh-server on 127.0.0.1:18022 only, with its own config, host key,
#             pid file and log under <lab>/ssh/; the system sshd (port 22) is never started
#   client    <lab>/ssh/id_ed25519 (the controller's key) and <lab>/ssh/known_hosts
# The inventory side is inventories/lab/host_vars/coffee-tracker.yml; see README.md here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lab/ssh/common.sh
. "$here/common.sh"

# Users, sudoers and sshd's privilege separation need root; the keys go to whoever runs the lab.
if [[ "$(id -u)" != 0 ]]; then
  exec sudo -n --preserve-env=APPOPS_LAB_DIR bash "$0" "$@"
fi
KEY_OWNER="${SUDO_UID:-0}:${SUDO_GID:-0}"

ensure_user() {
  if ! id "$SSH_USER" >/dev/null 2>&1; then
    log "creating user $SSH_USER"
    # '*' rather than useradd's '!': sshd without PAM refuses key logins to a locked account.
    useradd --create-home --shell /bin/bash --password '*' --comment "appops lab operator" "$SSH_USER"
  fi
}

ensure_sudoers() {
  local want tmp
  want="# Written by lab/ssh/lab-up.sh: the lab's operator becomes root without a password, as
# Ansible's become needs on a compose host (no tty, no prompt).
$SSH_USER ALL=(ALL:ALL) NOPASSWD: ALL"
  if [[ -f "$SUDOERS" && "$(cat "$SUDOERS")" == "$want" ]]; then
    return 0
  fi
  log "writing $SUDOERS"
  tmp="$(mktemp)"
  printf '%s\n' "$want" >"$tmp"
  visudo -cqf "$tmp" || { rm -f "$tmp"; die "visudo rejected the sudoers entry"; }
  install -m 0440 -o root -g root "$tmp" "$SUDOERS"
  rm -f "$tmp"
}

ensure_keys() {
  install -d -m 0755 "$SSH_DIR"
  if [[ ! -f "$HOST_KEY" ]]; then
    log "making the host key $HOST_KEY"
    ssh-keygen -q -t ed25519 -N '' -C "appops-lab-sshd" -f "$HOST_KEY"
  fi
  if [[ ! -f "$CLIENT_KEY" ]]; then
    log "making the client key $CLIENT_KEY"
    ssh-keygen -q -t ed25519 -N '' -C "appops-lab-controller" -f "$CLIENT_KEY"
  fi
  # ssh refuses a private key its user cannot call their own.
  chown "$KEY_OWNER" "$CLIENT_KEY" "$CLIENT_KEY.pub"
  chmod 0600 "$CLIENT_KEY"
  # The key logs in from loopback only, and only to run commands (no forwarding of any kind).
  write_if_changed "$AUTHORIZED_KEYS" 0644 "from=\"127.0.0.1\",restrict,pty $(cat "$CLIENT_KEY.pub")" || true
  write_if_changed "$KNOWN_HOSTS" 0644 "[$SSH_HOST]:$SSH_PORT $(cut -d' ' -f1-2 "$HOST_KEY.pub")" || true
  chown "$KEY_OWNER" "$KNOWN_HOSTS"
}

sshd_config_text() {
  cat <<CONFIG
# Written by lab/ssh/lab-up.sh: the lab's own sshd (not the system one), loopback only.
Port $SSH_PORT
ListenAddress $SSH_HOST
HostKey $HOST_KEY
PidFile $PID_FILE
AuthorizedKeysFile $AUTHORIZED_KEYS
AllowUsers $SSH_USER
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# PAM's session modules (loginuid) need privileges a container does not have; keys need no PAM.
UsePAM no
StrictModes yes
AllowTcpForwarding no
X11Forwarding no
PermitUserEnvironment no
PrintMotd no
# Ansible multiplexes its sessions over one ControlMaster connection; 10 is tight for async tasks.
MaxSessions 30
Subsystem sftp internal-sftp
CONFIG
}

# Starts sshd, or has the running one re-read a changed config (SIGHUP re-executes it).
ensure_sshd() {
  local changed=1
  write_if_changed "$SSHD_CONFIG" 0644 "$(sshd_config_text)" && changed=0
  # The privilege separation directory lives in /run, which a reboot empties.
  install -d -m 0755 /run/sshd
  /usr/sbin/sshd -t -f "$SSHD_CONFIG" || die "sshd -t rejected $SSHD_CONFIG"
  if sshd_running; then
    if [[ "$changed" == 0 ]]; then
      log "config changed: sshd re-reads it"
      kill -HUP "$(cat "$PID_FILE")"
      sleep 0.3
    fi
    return 0
  fi
  log "starting sshd on $SSH_HOST:$SSH_PORT (log: $SSHD_LOG)"
  /usr/sbin/sshd -f "$SSHD_CONFIG" -E "$SSHD_LOG"
}

# The proof that the lab is usable: the controller's key logs in and sudo needs no password.
wait_for_login() {
  local tries=0 who
  until who="$(lab_ssh sudo -n id -un 2>/dev/null)" && [[ "$who" == root ]]; do
    tries=$((tries + 1))
    if ((tries >= 50)); then
      tail -n 20 "$SSHD_LOG" >&2 || true
      die "no key login with sudo to $SSH_USER@$SSH_HOST:$SSH_PORT after 10 s (log: $SSHD_LOG)"
    fi
    sleep 0.2
  done
}

main() {
  local started=$SECONDS
  [[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd missing (Debian package openssh-server: make setup)"
  command -v sudo >/dev/null || die "sudo missing (Debian package sudo: make setup)"
  ensure_user
  ensure_sudoers
  ensure_keys
  ensure_sshd
  wait_for_login
  log "up in $((SECONDS - started)) s: $SSH_USER@$SSH_HOST:$SSH_PORT, key $CLIENT_KEY"
}

main "$@"

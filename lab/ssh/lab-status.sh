#!/usr/bin/env bash
# Shows the lab's sshd: its process, where it listens, and who a key login is before and after sudo.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lab/ssh/common.sh
. "$here/common.sh"

if ! sshd_running; then
  echo "sshd: not running (lab/ssh/lab-up.sh)"
  exit 0
fi
echo "sshd: pid $(cat "$PID_FILE"), $SSH_USER@$SSH_HOST:$SSH_PORT, log $SSHD_LOG"
# shellcheck disable=SC2016 # expanded on the lab host, before and after sudo
if who="$(lab_ssh 'echo "$(id -un) -> $(sudo -n id -un)"' 2>&1)"; then
  echo "login: $who"
else
  echo "login: FAILED: $who"
fi

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab reaches coffee-tracker as production reaches a compose host: over SSH as an unprivileged
user, root only through sudo, the host's own Python found by interpreter discovery."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.appops.runbooks.tests.integration.compose.conftest import (
    APP, LAB, ROOT, SSH_DIR, SSH_PORT, SSH_USER, run_playbook)

pytestmark = pytest.mark.integration

# Each probe runs once without become (the login as it is) and once with it (what the roles get).
PROBE_PLAYBOOK = """
- hosts: coffee-tracker
  gather_facts: false
  tasks:
    - name: Login user
      ansible.builtin.command: id -un
      vars: {ansible_become: false}
    - name: Login session
      ansible.builtin.shell: echo "$SSH_CONNECTION"
      vars: {ansible_become: false}
    - name: Ancestor processes
      ansible.builtin.shell: |
        pid=$$
        while [ "$pid" -gt 1 ]; do pid=$(cut -d' ' -f4 "/proc/$pid/stat"); echo "$pid"; done
      vars: {ansible_become: false}
    - name: Docker socket as the login user
      ansible.builtin.command: docker version --format '{{ "{{" }} .Server.Version {{ "}}" }}'
      vars: {ansible_become: false}
      failed_when: false
    - name: Facts with become
      ansible.builtin.setup:
        gather_subset: [min]
    - name: Host libraries
      ansible.builtin.command:
        argv: ["{{ ansible_python.executable }}", "-c", "import sys, requests, redis; print(sys.prefix, requests.__file__, redis.__file__)"]
    - name: Become user
      ansible.builtin.command: id -un
    - name: Docker socket with become
      ansible.builtin.command: docker version --format '{{ "{{" }} .Server.Version {{ "}}" }}'
    - name: Connection settings
      ansible.builtin.debug:
        msg:
          connection: "{{ ansible_connection }}"
          become: "{{ ansible_become }}"
          become_method: "{{ ansible_become_method }}"
"""


def lab_env() -> dict[str, str]:
    return dict(os.environ, APPOPS_LAB_DIR=str(LAB), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_NOCOLOR="1")


def probe_results(tmp_path: Path) -> dict[str, dict]:
    """Runs PROBE_PLAYBOOK with the json callback; its results by task name."""
    playbook = tmp_path / "probe.yml"
    playbook.write_text(PROBE_PLAYBOOK, encoding="utf-8")
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(playbook)], cwd=ROOT,
                          env=dict(lab_env(), ANSIBLE_STDOUT_CALLBACK="json"), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout)
    return {task["task"]["name"]: task["hosts"][APP] for task in report["plays"][0]["tasks"]}


def test_tasks_log_in_as_the_unprivileged_user_and_become_root(lab_up, tmp_path):
    results = probe_results(tmp_path)

    assert results["Login user"]["stdout"] == SSH_USER
    # sshd sets SSH_CONNECTION: client address and port, server address and port.
    client, _client_port, server, server_port = results["Login session"]["stdout"].split()
    assert (client, server, server_port) == ("127.0.0.1", "127.0.0.1", str(SSH_PORT))
    # become is needed, not decoration: the login user cannot reach the docker socket.
    assert results["Docker socket as the login user"]["rc"] != 0
    assert "permission denied" in results["Docker socket as the login user"]["stderr"].lower()

    assert results["Become user"]["stdout"] == "root"
    assert results["Docker socket with become"]["rc"] == 0 and results["Docker socket with become"]["stdout"]
    facts = results["Facts with become"]["ansible_facts"]
    assert facts["ansible_user_id"] == "root"
    assert results["Connection settings"]["msg"] == {"connection": "ssh", "become": True, "become_method": "sudo"}
    # Interpreter discovery picked the host's Python, not the controller's venv.
    # (Ansible reports the discovered interpreter with the first task that ran on the host.)
    discovered = results["Login user"]["ansible_facts"]["discovered_interpreter_python"]
    assert discovered.startswith("/usr/bin/python3") and facts["ansible_python"]["executable"] == discovered
    assert discovered != sys.executable
    # ... whose own libraries (Debian packages) serve the modules, not the controller's venv.
    prefix, *library_files = results["Host libraries"]["stdout"].split()
    assert prefix == "/usr" and all(path.startswith("/usr/lib/python3/dist-packages/") for path in library_files)
    # The task's processes descend from the lab's sshd (the listener forks one process per login).
    assert (SSH_DIR / "sshd.pid").read_text(encoding="utf-8").strip() in results["Ancestor processes"]["stdout"].split()


def test_procedures_run_over_ssh_with_sudo(lab_up):
    run = run_playbook("health", "-vvv")
    assert run.rc == 0 and run.recap()["failed"] == 0, run.output[-3000:]
    assert f"ESTABLISH SSH CONNECTION FOR USER: {SSH_USER}" in run.output
    assert f"-o Port={SSH_PORT}" in run.output or f"-p {SSH_PORT}" in run.output
    assert "sudo -H -S -n  -u root" in run.output
    assert "ESTABLISH LOCAL CONNECTION" not in run.output


def test_sshd_listens_on_loopback_only(lab_up):
    listening = subprocess.run(["ss", "-Hltnp", f"sport = :{SSH_PORT}"], capture_output=True, text=True, check=True)
    addresses = {line.split()[3] for line in listening.stdout.splitlines()}
    assert addresses == {f"127.0.0.1:{SSH_PORT}"}, listening.stdout
    assert "sshd" in listening.stdout


def test_lab_up_again_is_fast_and_keeps_sshd(lab_up):
    pid_before = (SSH_DIR / "sshd.pid").read_text(encoding="utf-8").strip()
    started = time.monotonic()
    subprocess.run(["bash", str(ROOT / "lab" / "ssh" / "lab-up.sh")], env=lab_env(), capture_output=True,
                   text=True, check=True, timeout=60)
    assert time.monotonic() - started < 3
    assert (SSH_DIR / "sshd.pid").read_text(encoding="utf-8").strip() == pid_before


def test_a_wrong_host_key_is_refused(lab_up, tmp_path):
    """Host keys are checked: the inventory trusts only the key lab-up.sh made."""
    forged = tmp_path / "known_hosts"
    forged.write_text(f"[127.0.0.1]:{SSH_PORT} ssh-ed25519 "
                      "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C7rWGj1d6Ld9gmbZ\n", encoding="utf-8")
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible"), APP, "-m", "ansible.builtin.ping",
                           "-e", f"ansible_ssh_common_args='-o UserKnownHostsFile={forged} -o IdentitiesOnly=yes'",
                           # A fresh connection: a persisting master would skip the host key check.
                           "-e", "ansible_ssh_args='-o ControlMaster=no -o ControlPath=none'"],
                          cwd=ROOT, env=lab_env(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert "UNREACHABLE" in done.stdout and "host key" in (done.stdout + done.stderr).lower()

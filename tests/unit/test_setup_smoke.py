# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke tests of what scripts/setup.sh prepares: the collection resolves by FQCN through the
.collections link, playbooks pass Ansible's syntax check, and the ansible-test pip stand-in
really bootstraps pip into an empty venv without the network."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import venv

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"
LINK = COLLECTIONS / "ansible_collections" / "appops" / "runbooks"
BIN = pathlib.Path(sys.executable).parent
PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yml"))
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def ansible_env() -> dict[str, str]:
    """The environment make and the tests use: our collection first, the repo's ansible.cfg."""
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return env


def run_tool(*args: str, cwd: pathlib.Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)


def test_collection_link_points_at_the_checkout() -> None:
    assert LINK.is_symlink()
    assert LINK.resolve() == REPO


def test_ansible_galaxy_lists_the_collection_with_its_galaxy_version() -> None:
    result = run_tool("ansible-galaxy", "collection", "list", "appops.runbooks", "--format", "json")
    assert result.returncode == 0, result.stderr
    listed = {name: info for by_path in json.loads(result.stdout).values() for name, info in by_path.items()}
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert listed["appops.runbooks"]["version"] == galaxy["version"]


def test_ansible_doc_lists_every_module_by_fqcn() -> None:
    result = run_tool("ansible-doc", "-t", "module", "-l", "appops.runbooks", "-j")
    assert result.returncode == 0, result.stderr
    listed = set(json.loads(result.stdout))
    assert {f"appops.runbooks.{name}" for name in MODULES} <= listed


def test_syntax_check_rejects_an_unknown_collection_module(tmp_path: pathlib.Path) -> None:
    # Negative control: proves --syntax-check resolves FQCNs, so the playbook checks below mean something.
    playbook = tmp_path / "unknown.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - appops.runbooks.no_such_module: {}\n")
    result = run_tool("ansible-playbook", "--syntax-check", "-i", "localhost,", str(playbook))
    assert result.returncode != 0
    assert "appops.runbooks.no_such_module" in result.stdout + result.stderr


if PLAYBOOKS:  # defined only when there is something to check, so nothing is reported as skipped

    @pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
    def test_playbook_passes_syntax_check(playbook: pathlib.Path) -> None:
        result = run_tool("ansible-playbook", "--syntax-check", str(playbook.relative_to(REPO)))
        assert result.returncode == 0, result.stdout + result.stderr


def test_get_pip_standin_bootstraps_pip_into_an_empty_venv(tmp_path: pathlib.Path) -> None:
    # ansible-test runs the stand-in with get-pip's own options; --no-index keeps this test offline
    # while still going through `pip install`.
    venv.EnvBuilder(with_pip=False).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    standin = REPO / "scripts" / "get_pip_standin.py"
    result = subprocess.run(
        [str(python), str(standin), "--disable-pip-version-check", "--no-setuptools", "--no-wheel", "--no-index", "pip"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    version = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True, check=True)
    assert str(tmp_path / "venv") in version.stdout


def setup_helper(script: str, venv_dir: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """Runs bash with set -euo pipefail (as setup.sh does), scripts/setup.sh sourced, then `script`."""
    return subprocess.run(["bash", "-c", f'set -euo pipefail; source "$1"; {script}', "test", str(REPO / "scripts" / "setup.sh")],
                          env=dict(os.environ, VENV=str(venv_dir)), capture_output=True, text=True, timeout=60,
                          check=False)


def test_a_missing_venv_has_no_base_and_is_not_from_another_python(tmp_path: pathlib.Path) -> None:
    # A fresh clone has no venv: the helpers must answer, not end the script under set -e.
    done = setup_helper('echo "base=[$(venv_base)]"; venv_from_another_python /usr/bin/python3 || echo no', tmp_path / "none")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["base=[]", "no"]


@pytest.mark.parametrize("made_from, verdict", [(sys.executable, "same"), ("/opt/other/bin/python3.11", "another")])
def test_a_venv_made_from_another_interpreter_is_seen(tmp_path: pathlib.Path, made_from: str, verdict: str) -> None:
    venv_dir = tmp_path / "venv"
    (venv_dir / "bin").mkdir(parents=True)
    (venv_dir / "bin" / "python").symlink_to(sys.executable)
    (venv_dir / "pyvenv.cfg").write_text(f"home = /x\nversion = 3.11.2\nexecutable = {made_from}\n")
    done = setup_helper(f'venv_from_another_python "{sys.executable}" && echo another || echo same', venv_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == verdict

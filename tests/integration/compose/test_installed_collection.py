"""The built and installed collection runs its playbooks by FQCN, as AWX or a user's control node does.

`ansible-galaxy collection build` + `install` into a fresh collections path (nothing from the checkout
on it), then `ansible-playbook appops.runbooks.health` / `appops.runbooks.backup` against the lab.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import APP, BACKUPS, ROOT

pytestmark = pytest.mark.integration

VENV_BIN = ROOT / ".venv" / "bin"


@pytest.fixture(scope="module")
def installed_collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("galaxy")
    built = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(work)],
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next(work.glob("appops-runbooks-*.tar.gz"))
    target = work / "collections"
    # --no-deps: community.docker and community.postgresql come with the `ansible` package; --force:
    # the checkout itself is on the default collections path and would count as installed.
    installed = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "--force",
                                "-p", str(target), str(tarball)],
                               capture_output=True, text=True, check=False, cwd=work)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (target / "ansible_collections" / "appops" / "runbooks" / "playbooks" / "restore.yml").is_file()
    return target


def run_installed(collections: Path, playbook: str, *args: str) -> subprocess.CompletedProcess[str]:
    # Run outside the checkout, with no ansible.cfg: only the installed copy can answer the FQCN.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    env.pop("ANSIBLE_CONFIG", None)
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab" / "hosts.yml"), playbook,
               "-l", APP, *args]
    return subprocess.run(command, cwd=collections, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_installed_health_playbook_reports_the_live_app(installed_collections: Path) -> None:
    done = run_installed(installed_collections, "appops.runbooks.health")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["stats"][APP]["failures"] == 0
    assert report["stats"][APP]["changed"] == 0


def test_installed_backup_playbook_writes_a_verified_backup(installed_collections: Path) -> None:
    before = {path.name for path in BACKUPS.iterdir()} if BACKUPS.is_dir() else set()
    done = run_installed(installed_collections, "appops.runbooks.backup")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    made = sorted({path.name for path in BACKUPS.iterdir()} - before)
    assert len(made) == 1, made
    manifest = json.loads((BACKUPS / made[0] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["app"] == APP
    assert {store["name"] for store in manifest["stores"]} == {"main", "secondary"}

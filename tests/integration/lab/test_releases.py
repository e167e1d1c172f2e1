"""The lab's release history and lab-up.sh itself."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

RELEASES = ("v1.0.0", "v1.1.0", "v1.2.0-broken")


def _tags(repo: Path) -> dict[str, str]:
    out = subprocess.run(["git", "-C", str(repo), "for-each-ref", "--format=%(refname:short) %(objectname)",
                          "refs/tags"], check=True, capture_output=True, text=True).stdout
    return dict(line.split() for line in out.splitlines())


def test_release_history_is_rebuilt_with_identical_shas(lab: Any, tmp_path: Path) -> None:
    subprocess.run([str(lab.source_dir / "git-repo.sh"), str(tmp_path / "again.git")],
                   check=True, capture_output=True)

    lab_tags = _tags(lab.git_repo)
    assert set(lab_tags) == set(RELEASES)
    assert _tags(tmp_path / "again.git") == lab_tags


def test_each_release_commit_carries_its_own_version_file(lab: Any) -> None:
    for ref in RELEASES:
        version = subprocess.run(["git", "-C", str(lab.git_repo), "show", f"{ref}:VERSION"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        assert version == ref


@pytest.fixture()
def run_release(lab: Any, tmp_path: Path) -> Iterator[Any]:
    """Builds a tagged release from the lab repo and runs it beside the stack on a spare port."""
    started: list[str] = []
    images: list[str] = []

    def run(ref: str, port: int) -> str:
        image = f"coffee-tracker-test:{ref}-{uuid.uuid4().hex[:6]}"
        archive = subprocess.run(["git", "-C", str(lab.git_repo), "archive", "--format=tar", ref],
                                 check=True, capture_output=True).stdout
        subprocess.run(["docker", "build", "-q", "-t", image, "-"], input=archive, check=True,
                       capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0"})
        images.append(image)
        data_dir = tmp_path / ref
        data_dir.mkdir()
        container = subprocess.run(
            ["docker", "run", "-d", "--rm", "--network", "host", "-v", f"{data_dir}:/srv/data",
             "-e", f"LISTEN_PORT={port}", "-e", f"API_KEYS={lab.api_key}",
             "-e", f"DATABASE_URL=postgresql://coffee:{lab.env['POSTGRES_PASSWORD']}@127.0.0.1:15432/coffee_db",
             "-e", "REDIS_URL=redis://127.0.0.1:16379/0", image, "python3", "-m", "coffee_tracker"],
            check=True, capture_output=True, text=True).stdout.strip()
        started.append(container)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
                return f"http://127.0.0.1:{port}"
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"{ref} did not listen on {port}")

    try:
        yield run
    finally:
        for container in started:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
        for image in images:
            subprocess.run(["docker", "image", "rm", "-f", image], capture_output=True, check=False)


def test_v1_0_0_has_no_stats_and_v1_2_0_broken_fails_its_health_gate(lab: Any, run_release: Any) -> None:
    old = run_release("v1.0.0", 18091)
    broken = run_release("v1.2.0-broken", 18092)

    old_health = requests.get(f"{old}/health", timeout=10)
    assert old_health.status_code == 200 and old_health.json()["version"] == "v1.0.0"
    assert requests.get(f"{old}/coffee/stats", headers=lab.headers(), timeout=10).status_code == 404
    broken_health = requests.get(f"{broken}/health", timeout=10)
    assert broken_health.status_code == 503
    assert broken_health.json()["version"] == "v1.2.0-broken"
    assert broken_health.json()["database"] == {"status": "unhealthy"}


def test_lab_up_rerun_is_fast_and_changes_nothing(lab: Any) -> None:
    env_before = (lab.project_dir / ".env").read_bytes()
    deployments_before = (lab.project_dir / ".appops" / "deployments.json").read_bytes()
    containers_before = {s: lab.running_containers(s) for s in ("postgres", "redis", "coffee-tracker")}

    started = time.monotonic()
    subprocess.run([str(lab.source_dir / "lab-up.sh")], check=True, capture_output=True, timeout=120)
    elapsed = time.monotonic() - started

    assert elapsed < 10, f"lab-up.sh re-run took {elapsed:.1f} s"
    assert (lab.project_dir / ".env").read_bytes() == env_before
    assert (lab.project_dir / ".appops" / "deployments.json").read_bytes() == deployments_before
    assert {s: lab.running_containers(s) for s in containers_before} == containers_before

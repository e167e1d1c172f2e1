# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What converge left behind, checked on the host: files, containers, HTTP answers."""
from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
PROJECT = Path(os.environ.get("APPOPS_LAB_DIR", ROOT / ".lab")) / "coffee-tracker"


def test_maintenance_file_is_on(host):
    marker = host.file(str(PROJECT / "state" / "maintenance.json"))
    assert marker.exists and json.loads(marker.content_string)["enabled"] is True


def test_api_answers_503_during_maintenance(host):
    answer = host.run("curl -s -D - -o /dev/null http://127.0.0.1:18000/")
    assert answer.stdout.startswith("HTTP/1.1 503") and "retry-after: 60" in answer.stdout.lower()


def test_two_app_containers_run_healthy(host):
    # Plain ids, no Go template: the checks run through Ansible, which would read {{ }} as its own.
    running = host.check_output("docker ps -q --filter label=com.docker.compose.project=coffee-tracker "
                                "--filter label=com.docker.compose.service=coffee-tracker --filter status=running")
    assert len(running.split()) == 2


def test_replicas_persisted_in_env(host):
    assert "COFFEE_TRACKER_REPLICAS=2" in host.file(str(PROJECT / ".env")).content_string.splitlines()


def test_health_answers_200_with_the_deployed_version(host):
    current = json.loads(host.file(str(PROJECT / ".appops" / "deployments.json")).content_string)["current"]
    answer = host.run("curl -s -w '\\n%{http_code}' http://127.0.0.1:18000/health")
    body, code = answer.stdout.rsplit("\n", 1)
    assert code == "200"
    health = json.loads(body)
    assert health["database"]["status"] == "healthy" and health["version"] == current["ref"]
    assert health["maintenance"] is True


def test_converge_deployed_another_release_than_the_one_before(host):
    before = host.file(str(PROJECT / ".appops" / "molecule-release-before")).content_string.strip()
    deployments = json.loads(host.file(str(PROJECT / ".appops" / "deployments.json")).content_string)
    assert before and deployments["current"]["ref"] != before
    assert deployments["current"]["ref"] == ("v1.1.0" if before == "v1.0.0" else "v1.0.0")
    assert deployments["current"]["via"] == "deploy"

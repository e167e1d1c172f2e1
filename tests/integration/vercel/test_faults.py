# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Vercel procedures under a flaky API (20 % 5xx, 429 bursts): each succeeds with one build
per redeploy it needs, none twice, as the emulator's request log and its deployments show.
(Maintenance on and off under the same faults: the restore of test_mysetlist_supabase_store.py.)"""

from __future__ import annotations

import pytest

# The same flaky-API driver as the Heroku procedures': the Vercel emulator has the same fault knobs.
from ansible_collections.appops.runbooks.tests.integration.faults import FlakyApi
from ansible_collections.appops.runbooks.tests.integration.vercel.conftest import Lab, builds, run_playbooks

pytestmark = pytest.mark.integration

MYSETLIST, DOMAIN = "mysetlist-sonnet", "mysetlist-sonnet.vercel.app"


def test_deploy_and_config_succeed_on_a_flaky_api_without_a_duplicate_deployment(lab: Lab) -> None:
    project = lab.project(MYSETLIST)
    seeded, env_before = {d["id"] for d in project["deployments"]}, project["env"]
    seq = lab.last_seq()
    with FlakyApi(lab, error_rate=0.2, burst=3, every_s=10.0):
        # deploy (one build), then config (one redeploy), in one run.
        done = run_playbooks(["deploy.yml", "config.yml"], "mysetlist",
                             {"ref": "v5.0.0", "config": {"SPOTIFY_CLIENT_ID": "lab-spotify-client-2"}})
    assert done.rc == 0, f"failed under faults:\n{done.raw[-6000:]}"
    absorbed = lab.faults_met(seq)
    assert absorbed["429"] >= 3 and absorbed["5xx"] >= 1, absorbed
    assert len(builds(lab.writes_since(seq))) == 2
    project = lab.project(MYSETLIST)
    new = [d for d in project["deployments"] if d["id"] not in seeded]
    assert len(new) == 2 and {d["readyState"] for d in new} == {"READY"}, new
    production = lab.deployment(MYSETLIST, project["productionDeploymentId"])
    assert production == max(new, key=lambda d: d["createdAt"]) and production["meta"]["githubCommitRef"] == "v5.0.0"
    assert production["env"]["SPOTIFY_CLIENT_ID"] == "lab-spotify-client-2"
    # config sets the production value (its default target); preview and development keep theirs.
    kept = {key: value for key, value in env_before.items() if not key.startswith("SPOTIFY_CLIENT_ID@")}
    assert project["env"] == {**kept, "SPOTIFY_CLIENT_ID@production": "lab-spotify-client-2",
                              "SPOTIFY_CLIENT_ID@development,preview": "lab-spotify-client"}
    assert lab.get(DOMAIN, "/api/health/comprehensive").status_code == 200
    outcomes = [published["mysetlist"] for published in done.published_each]
    assert outcomes[0]["procedure"] == "deploy" and outcomes[0]["release"]["id"] in {d["id"] for d in new}
    assert all(outcome["changed"] is True and outcome["failed"] is False for outcome in outcomes), outcomes

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/config.yml applying an app's atlas_access_list and atlas_backup_policy (the atlas role's
configure entry point) against an Atlas emulator API of its own (18380, state in a temporary folder,
one empty M10 cluster and the seed's M0 micmap-cluster; no lab lock) and a generated inventory of
three apps: one that declares both, one that declares neither, one on the M0. Check mode writes
nothing, the apply sets the project's access list and the cluster's schedule, a re-run writes
nothing, and 0.0.0.0/0 is refused unless allowed. playbooks/scale.yml -e atlas_instance_size
changes the tier and waits for IDLE (the atlas role's scale entry point); an M0 is refused unless
-e atlas_tenant_upgrade=true, which upgrades it once."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPDigestAuth

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "bench"))
import fleet_atlas  # noqa: E402  a private emulator instance of the Atlas API

pytestmark = pytest.mark.integration
PORT = int(os.environ.get("ATLAS_CONFIG_TEST_API_PORT", "18380"))
CLUSTER = "config-cluster"
# Atlas removes a temporary entry on its own, at most a week ahead.
TOMORROW = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
ACCESS_LIST = [{"cidr": "203.0.113.0/28", "comment": "app egress"},
               {"ip": "198.51.100.7", "comment": "on-call laptop", "delete_after": TOMORROW}]
POLICY = {"reference_hour_of_day": 2, "restore_window_days": 3,
          "policy_items": [{"frequency_type": "hourly", "frequency_interval": 6, "retention_unit": "days",
                            "retention_value": 3},
                           {"frequency_type": "daily", "retention_unit": "days", "retention_value": 14}]}


@pytest.fixture(scope="module")
def instance() -> t.Iterator[fleet_atlas.Instance]:
    with fleet_atlas.private_instance(PORT, [CLUSTER], 1.0) as running:
        yield running


@pytest.fixture(scope="module")
def inventory(instance: fleet_atlas.Instance) -> t.Iterator[Path]:
    store = {"name": "main", "kind": "atlas", "method": "snapshot", "cluster": CLUSTER, "database": "app"}
    hosts = {"declared-app": {"app_data_stores": [store], "atlas_access_list": ACCESS_LIST,
                              "atlas_backup_policy": POLICY},
             "plain-app": {"app_data_stores": [store]},
             "m0-app": {"app_data_stores": [{**store, "cluster": "micmap-cluster"}]}}
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                  "app_environment": "lab", "app_platform": "heroku",
                                  "atlas_api_url": instance.url, "atlas_project_id": fleet_atlas.atlas.GROUP_ID,
                                  "atlas_public_key": fleet_atlas.atlas.PUBLIC_KEY,
                                  "atlas_private_key": fleet_atlas.atlas.PRIVATE_KEY},
                         "hosts": hosts}}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "atlas-config.json"
        path.write_text(json.dumps(inventory))
        yield path


def run_config(inventory: Path, app: str, *options: str,
               playbook: str = "config.yml") -> tuple[subprocess.CompletedProcess[str], dict[str, t.Any]]:
    """playbooks/config.yml (or ``playbook``) on one app; the run and what it published for the app."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "-l", app,
               str(REPO / "playbooks" / playbook), *options]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(done.stdout[done.stdout.index("{"):])
    return done, report.get("global_custom_stats", {}).get("appops", {}).get(app, {})


def api(instance: fleet_atlas.Instance, path: str) -> t.Any:
    answer = requests.get(f"{instance.url}{fleet_atlas.GROUP_PATH}{path}", timeout=30,
                          auth=HTTPDigestAuth(fleet_atlas.atlas.PUBLIC_KEY, fleet_atlas.atlas.PRIVATE_KEY),
                          headers={"Accept": fleet_atlas.V2023})
    answer.raise_for_status()
    return answer.json()


def access_list(instance: fleet_atlas.Instance) -> dict[str, dict[str, t.Any]]:
    return {entry["cidrBlock"]: entry for entry in api(instance, "/accessList?itemsPerPage=500")["results"]}


def schedule(instance: fleet_atlas.Instance) -> dict[str, t.Any]:
    return t.cast(dict[str, t.Any], api(instance, f"/clusters/{CLUSTER}/backup/schedule"))


def test_check_mode_writes_nothing(instance: fleet_atlas.Instance, inventory: Path) -> None:
    entries, policy, seq = access_list(instance), schedule(instance), instance.last_seq()
    done, published = run_config(inventory, "declared-app", "--check", "--diff")
    assert done.returncode == 0, done.stdout[-3000:]
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0
    assert access_list(instance) == entries and schedule(instance) == policy
    assert published["changed"] is True and published["details"]["stores"]["main"]["changed"] is True


def test_apply_sets_the_access_list_and_the_policy(instance: fleet_atlas.Instance, inventory: Path) -> None:
    done, published = run_config(inventory, "declared-app")
    assert done.returncode == 0, done.stdout[-3000:]
    entries = access_list(instance)
    assert entries["203.0.113.0/28"]["comment"] == "app egress"
    assert entries["198.51.100.7/32"]["comment"] == "on-call laptop"
    assert entries["198.51.100.7/32"]["deleteAfterDate"][:19] == TOMORROW[:19]
    after = schedule(instance)
    assert after["referenceHourOfDay"] == 2 and after["restoreWindowDays"] == 3
    items = sorted((i["frequencyType"], i["frequencyInterval"], i["retentionUnit"], i["retentionValue"])
                   for i in after["policies"][0]["policyItems"])
    assert items == [("daily", 1, "days", 14), ("hourly", 6, "days", 3)]
    assert published["changed"] is True and not published["failed"]
    assert sorted(published["details"]["stores"]["main"]["access_list"]["added"]) == ["198.51.100.7/32", "203.0.113.0/28"]


def test_re_run_writes_nothing(instance: fleet_atlas.Instance, inventory: Path) -> None:
    seq = instance.last_seq()
    done, published = run_config(inventory, "declared-app")
    assert done.returncode == 0, done.stdout[-3000:]
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0
    assert published["changed"] is False


def test_an_app_that_declares_neither_changes_nothing(instance: fleet_atlas.Instance, inventory: Path) -> None:
    seq = instance.last_seq()
    done, published = run_config(inventory, "plain-app")
    assert done.returncode == 0, done.stdout[-3000:]
    assert instance.requests_since(seq) == [] and published["changed"] is False


def test_the_world_entry_is_refused(instance: fleet_atlas.Instance, inventory: Path) -> None:
    seq = instance.last_seq()
    world = json.dumps({"atlas_access_list": [{"cidr": "0.0.0.0/0", "comment": "runbook advice"}]})
    done, published = run_config(inventory, "declared-app", "-e", world)
    assert done.returncode != 0 and published["failed"] is True
    assert "0.0.0.0/0" in published["message"]
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0 and "0.0.0.0/0" not in access_list(instance)


def cluster(instance: fleet_atlas.Instance, name: str) -> dict[str, t.Any]:
    """The emulator's record of the cluster: stateName and instanceSize."""
    return t.cast(dict[str, t.Any], instance.admin("GET", "health")["clusters"][name])


def test_scale_changes_the_tier_and_waits_for_idle(instance: fleet_atlas.Instance, inventory: Path) -> None:
    instance.admin("POST", "knobs", {"cluster_update_seconds": 1.0})
    done, published = run_config(inventory, "declared-app", "-e", "atlas_instance_size=M20", "-e",
                                 "atlas_poll_interval=0.25", playbook="scale.yml")
    assert done.returncode == 0, done.stdout[-3000:]
    after = cluster(instance, CLUSTER)
    assert after == {**after, "stateName": "IDLE", "instanceSize": "M20"}
    result = published["details"]["stores"]["main"]
    assert published["changed"] is True and result["instance_size"] == "M20" and result["state_name"] == "IDLE"
    seq = instance.last_seq()
    again = run_config(inventory, "declared-app", "-e", "atlas_instance_size=M20", playbook="scale.yml")
    assert again[0].returncode == 0 and again[1]["changed"] is False
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0


def test_scale_of_an_m0_fails_saying_what_atlas_requires(instance: fleet_atlas.Instance, inventory: Path) -> None:
    seq = instance.last_seq()
    done, published = run_config(inventory, "m0-app", "-e", "atlas_instance_size=M10", playbook="scale.yml")
    assert done.returncode != 0 and published["failed"] is True
    assert "tenant upgrade" in published["message"] and "-e atlas_tenant_upgrade=true" in published["message"]
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0


def test_scale_upgrades_an_m0_when_asked_to(instance: fleet_atlas.Instance, inventory: Path) -> None:
    """-e atlas_tenant_upgrade=true: one tenant upgrade with the auto-scaling bounds, waited for until IDLE."""
    instance.admin("POST", "knobs", {"cluster_update_seconds": 1.0})
    options = ("-e", "atlas_instance_size=M10", "-e", "atlas_tenant_upgrade=true", "-e", "atlas_autoscaling_min=M10",
               "-e", "atlas_autoscaling_max=M30", "-e", "atlas_poll_interval=0.25")
    seq = instance.last_seq()
    checked, predicted = run_config(inventory, "m0-app", *options, "--check", playbook="scale.yml")
    assert checked.returncode == 0 and predicted["changed"] is True, checked.stdout[-3000:]
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0
    assert cluster(instance, "micmap-cluster")["instanceSize"] == "M0"
    done, published = run_config(inventory, "m0-app", *options, playbook="scale.yml")
    assert done.returncode == 0, done.stdout[-3000:]
    assert cluster(instance, "micmap-cluster") == {**cluster(instance, "micmap-cluster"), "stateName": "IDLE",
                                                   "instanceSize": "M10"}
    result = published["details"]["stores"]["main"]
    assert published["changed"] is True and result["tenant_upgrade"] is True and result["state_name"] == "IDLE"
    assert result["autoscaling"] == {"enabled": True, "scale_down_enabled": True, "min_instance_size": "M10",
                                     "max_instance_size": "M30"}
    upgrades = [r for r in instance.requests_since(seq) if r["path"].endswith("/clusters/tenantUpgrade")]
    assert [r["method"] for r in upgrades] == ["POST"] and fleet_atlas.writes(instance.requests_since(seq)) == 1
    seq = instance.last_seq()
    again = run_config(inventory, "m0-app", *options, playbook="scale.yml")
    assert again[0].returncode == 0 and again[1]["changed"] is False
    assert fleet_atlas.writes(instance.requests_since(seq)) == 0

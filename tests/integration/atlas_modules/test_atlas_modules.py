# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The atlas_* modules against the emulator: check -> apply -> idempotent check -> idempotent apply.

Every outcome is read back from the emulator (its Admin API, its internal state, its request log)
and from the clusters' documents through pymongo; check mode must send no write.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import threading
import time
import typing as t

import pytest

from ansible_collections.appops.runbooks.tests.integration.playbooks import Playbooks
from ansible_collections.appops.runbooks.tests.integration.atlas_modules.atlas_modules_helpers import (
    API, DIGEST_DEFAULTS, FIXZIT_PORT, GROUP, LAB_DIR, MICMAP_PORT, PORTS, Lab, admin, api, atlas, start_instance)

pytestmark = pytest.mark.integration
WRITES = ("POST", "PATCH", "PUT", "DELETE")
FAST = {"poll_interval": 0.3}


def module(_module: str, **args: t.Any) -> dict[str, t.Any]:
    return {f"appops.runbooks.{_module}": args}


def cycle(lab: Lab, task: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Check, the emulator's request log so far, apply, idempotent check, idempotent apply.

    The log (read by a uri task right after the check) shows what the check sent: no write.
    """
    lab.remember()
    log = {"ansible.builtin.uri": {"url": f"{API}/__lab/requests?since={lab.mark}"}}
    return [dict(task, check_mode=True, diff=True), log, dict(task, diff=True), dict(task, check_mode=True, diff=True),
            dict(task, diff=True)]


def assert_cycle(run: t.Any) -> list[dict[str, t.Any]]:
    """The check said it would change and sent no write; apply changed; the re-runs changed nothing."""
    assert run.rc == 0, run.stdout
    check, log, *rest = run.results[:5]
    assert check["changed"], "the check must see the change"
    assert [r for r in log["json"] if r["method"] in WRITES] == [], "check mode sent a write"
    assert changed(rest) == [True, False, False], run.stdout
    return [check, *rest]


def writes(lab: Lab) -> list[dict[str, t.Any]]:
    return [r for r in lab.requests() if r["method"] in WRITES and "/api/oauth" not in r["path"]]


def changed(results: list[dict[str, t.Any]]) -> list[bool]:
    return [bool(r.get("changed")) for r in results]


def counts(port: int, database: str) -> dict[str, int]:
    with Lab.mongo(port) as client:
        return {name: client[database][name].count_documents({}) for name in client[database].list_collection_names()}


def wait_snapshot_done(snapshot_id: str, cluster: str) -> dict[str, t.Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        snap = api("GET", f"clusters/{cluster}/backup/snapshots/{snapshot_id}").json()
        if snap["status"] == "completed":
            return snap
        time.sleep(0.2)
    raise AssertionError(f"snapshot {snapshot_id} did not complete")


# ---- atlas_cluster ----------------------------------------------------------------------------
def test_cluster_tier_and_autoscaling(lab: Lab, playbooks: t.Any) -> None:
    task = module("atlas_cluster", cluster="fixzit-cluster", instance_size="M40",
                  autoscaling={"enabled": True, "scale_down_enabled": True, "min_instance_size": "M30",
                               "max_instance_size": "M60"}, **FAST)
    run = playbooks.run(cycle(lab, task) + [
        module("atlas_cluster_info", cluster="fixzit-cluster"),
        # M0 cannot be resized in place: a clear failure before anything is sent.
        dict(module("atlas_cluster", cluster="micmap-cluster", instance_size="M10"), ignore_errors=True),
    ])
    check, applied = assert_cycle(run)[:2]
    assert check["diff"]["before"]["instance_size"] == "M30" and check["diff"]["after"]["instance_size"] == "M40"
    assert applied["cluster"]["state_name"] == "IDLE"
    cluster = api("GET", "clusters/fixzit-cluster", version="2024-08-05").json()
    region = cluster["replicationSpecs"][0]["regionConfigs"][0]
    assert cluster["stateName"] == "IDLE" and region["electableSpecs"]["instanceSize"] == "M40"
    assert region["autoScaling"]["compute"] == {"enabled": True, "scaleDownEnabled": True,
                                                "minInstanceSize": "M30", "maxInstanceSize": "M60"}
    assert run.results[5]["cluster"]["instance_size"] == "M40"
    tenant = run.results[6]
    assert tenant["failed"] and "free or shared-tier M0" in tenant["msg"] and "in place" in tenant["msg"]
    patches = [r for r in writes(lab) if r["method"] == "PATCH"]
    assert [r["path"].rsplit("/", 1)[1] for r in patches] == ["fixzit-cluster"], "one PATCH, none for M0"
    assert admin("GET", "health")["clusters"]["micmap-cluster"]["instanceSize"] == "M0"


MICMAP_DOCUMENTS = {"mics": 60, "venues": 12}
UPGRADE = {"cluster": "micmap-cluster", "instance_size": "M10", "tenant_upgrade": True,
           "autoscaling": {"enabled": True, "scale_down_enabled": True, "min_instance_size": "M10",
                           "max_instance_size": "M30"}}


def tenant_upgrades(lab: Lab) -> list[dict[str, t.Any]]:
    return [r for r in writes(lab) if r["path"].endswith("/clusters/tenantUpgrade")]


def test_tenant_upgrade_is_opt_in_and_keeps_the_documents(lab: Lab, playbooks: t.Any) -> None:
    assert counts(MICMAP_PORT, "micmap") == MICMAP_DOCUMENTS
    refused = playbooks.run([dict(module("atlas_cluster", cluster="micmap-cluster", instance_size="M10"),
                                  ignore_errors=True)])
    assert refused.last["failed"] and "tenant_upgrade: true" in refused.last["msg"], refused.stdout
    assert writes(lab) == [], "without the opt-in nothing is sent"
    run = playbooks.run(cycle(lab, module("atlas_cluster", **UPGRADE, **FAST)))
    check, applied, again_check, again = assert_cycle(run)
    assert check["tenant_upgrade"] and applied["tenant_upgrade"]
    assert not again_check["tenant_upgrade"] and not again["tenant_upgrade"]
    assert check["diff"] == applied["diff"] == {
        "before": {"instance_size": "M0", "tenant": True, "autoscaling": dict.fromkeys(UPGRADE["autoscaling"])},
        "after": {"instance_size": "M10", "tenant": False, "autoscaling": UPGRADE["autoscaling"]}}
    assert applied["cluster"]["state_name"] == "IDLE" and not applied["cluster"]["tenant"]
    cluster = api("GET", "clusters/micmap-cluster", version="2024-08-05").json()
    region = cluster["replicationSpecs"][0]["regionConfigs"][0]
    assert cluster["stateName"] == "IDLE" and region["providerName"] == "AWS"
    assert region["electableSpecs"]["instanceSize"] == "M10"
    assert region["autoScaling"]["compute"] == {"enabled": True, "scaleDownEnabled": True,
                                                "minInstanceSize": "M10", "maxInstanceSize": "M30"}
    assert len(tenant_upgrades(lab)) == 1 and [r for r in writes(lab) if r["method"] == "PATCH"] == []
    assert counts(MICMAP_PORT, "micmap") == MICMAP_DOCUMENTS, "the upgraded cluster keeps its documents"


def test_a_re_run_during_the_tenant_upgrade_waits_for_it(lab: Lab, tmp_path: t.Any) -> None:
    """The second run (a service account, told apart in the request log) reads the cluster while the
    first run's upgrade is under way, waits for it and starts none of its own."""
    admin("POST", "knobs", {"cluster_update_seconds": 12})
    digest_run = Playbooks(tmp_path / "first", DIGEST_DEFAULTS)
    without_keys = {k: v for k, v in DIGEST_DEFAULTS["group/appops.runbooks.atlas"].items() if not k.endswith("_key")}
    oauth_run = Playbooks(tmp_path / "second", {"group/appops.runbooks.atlas": without_keys})
    for runner in (digest_run, oauth_run):
        runner.workdir.mkdir()
    task = [module("atlas_cluster", **UPGRADE, **FAST)]
    first: dict[str, t.Any] = {}
    thread = threading.Thread(target=lambda: first.update(run=digest_run.run(task)))
    thread.start()
    deadline = time.monotonic() + 120
    while not tenant_upgrades(lab) and time.monotonic() < deadline:
        time.sleep(0.2)
    upgrading = [c for c in lab.state()["cluster"] if c["name"] == "micmap-cluster"][0]
    assert upgrading["stateName"] == "UPDATING", "the first run started the upgrade"
    oauth = {"MONGODB_ATLAS_CLIENT_ID": atlas.CLIENT_ID, "MONGODB_ATLAS_CLIENT_SECRET": atlas.CLIENT_SECRET}
    attached = oauth_run.run(task, env=oauth)
    thread.join(timeout=180)
    assert first["run"].rc == 0 and first["run"].last["changed"] and first["run"].last["tenant_upgrade"]
    assert attached.rc == 0, attached.stdout
    assert not attached.last["changed"] and not attached.last["tenant_upgrade"]
    assert attached.last["cluster"]["state_name"] == "IDLE" and attached.last["cluster"]["instance_size"] == "M10"
    reads = [r for r in lab.requests("GET", "/clusters/micmap-cluster")
             if r["principal"] == f"serviceaccount:{atlas.CLIENT_ID}"]
    assert reads and reads[0]["ts"] < upgrading["_idleAt"], "the second run read the cluster during the upgrade"
    assert len(tenant_upgrades(lab)) == 1, "one tenant upgrade for both runs"
    assert counts(MICMAP_PORT, "micmap") == MICMAP_DOCUMENTS


# ---- atlas_snapshot ---------------------------------------------------------------------------
def test_on_demand_snapshot_and_attach(lab: Lab, playbooks: t.Any) -> None:
    task = module("atlas_snapshot", cluster="micmap-cluster", description="it pre-change", retention_days=3, **FAST)
    run = playbooks.run(cycle(lab, task) + [module("atlas_snapshot_info", cluster="micmap-cluster")])
    applied = assert_cycle(run)[1]
    snaps = lab.state()["snapshot"]
    assert len(snaps) == 1 and snaps[0]["description"] == "it pre-change" and snaps[0]["status"] == "completed"
    created = dt.datetime.fromisoformat(snaps[0]["createdAt"].replace("Z", "+00:00"))
    expires = dt.datetime.fromisoformat(snaps[0]["expiresAt"].replace("Z", "+00:00"))
    assert expires - created == dt.timedelta(days=3)
    assert snaps[0]["_counts"] == {"micmap.mics": 60, "micmap.venues": 12}, "the snapshot holds the documents"
    assert applied["snapshot"]["id"] == snaps[0]["id"] == run.results[5]["latest"]["id"]

    # Another on-demand snapshot runs (Atlas refuses a second): the module waits for it and returns it.
    # Long enough to still run when the module reads it, even after ansible-playbook's start on a
    # loaded machine; the module then waits for it.
    admin("POST", "knobs", {"snapshot_progress_seconds": 20})
    other = api("POST", "clusters/micmap-cluster/backup/snapshots", {"description": "someone else", "retentionInDays": 1})
    assert other.status_code == 200, other.text
    lab.remember()
    attached = playbooks.run([module("atlas_snapshot", cluster="micmap-cluster", description="it second", **FAST)])
    assert attached.rc == 0, attached.stdout
    assert attached.last["attached"] and not attached.last["changed"]
    assert attached.last["snapshot"]["id"] == other.json()["id"] and attached.last["snapshot"]["status"] == "completed"
    assert [r for r in writes(lab) if "snapshots" in r["path"]] == [], "no second on-demand snapshot was asked for"


# ---- atlas_access_list ------------------------------------------------------------------------
def test_access_list_entries_and_world_refusal(lab: Lab, playbooks: t.Any) -> None:
    expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).replace(microsecond=0)
    entries = [{"cidr_block": "203.0.113.0/28", "comment": "micmap-api egress"},
               {"ip_address": "198.51.100.7", "comment": "on-call", "delete_after_date": expiry.isoformat()}]
    task = module("atlas_access_list", entries=entries, purge=True)
    world = module("atlas_access_list", entries=[{"cidr_block": "0.0.0.0/0", "comment": "runbook advice"}])
    run = playbooks.run(cycle(lab, task) + [dict(world, ignore_errors=True)])
    assert_cycle(run)
    listed = {e["cidrBlock"]: e for e in api("GET", "accessList").json()["results"]}
    assert set(listed) == {"203.0.113.0/28", "198.51.100.7/32"}, "purge removed the seed's loopback entry"
    assert listed["203.0.113.0/28"]["comment"] == "micmap-api egress"
    assert listed["198.51.100.7/32"]["deleteAfterDate"] == expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    refused = run.results[5]
    assert refused["failed"] and "every address" in refused["msg"] and "force_open_to_world" in refused["msg"]
    assert "0.0.0.0/0" not in listed

    forced = playbooks.run([module("atlas_access_list", entries=[{"cidr_block": "0.0.0.0/0"}], force_open_to_world=True),
                            module("atlas_access_list", entries=[{"cidr_block": "0.0.0.0/0"}], state="absent")])
    assert changed(forced.results) == [True, True], forced.stdout
    assert "0.0.0.0/0" not in {e["cidrBlock"] for e in api("GET", "accessList").json()["results"]}


# ---- atlas_backup_policy ----------------------------------------------------------------------
def test_backup_policy(lab: Lab, playbooks: t.Any) -> None:
    items = [{"frequency_type": "hourly", "frequency_interval": 6, "retention_unit": "days", "retention_value": 3},
             {"frequency_type": "daily", "retention_unit": "days", "retention_value": 14}]
    task = module("atlas_backup_policy", cluster="fixzit-cluster", reference_hour_of_day=3, restore_window_days=3,
                  policy_items=items)
    assert_cycle(playbooks.run(cycle(lab, task)))
    schedule = api("GET", "clusters/fixzit-cluster/backup/schedule").json()
    assert schedule["referenceHourOfDay"] == 3 and schedule["restoreWindowDays"] == 3
    got = sorted((i["frequencyType"], i["frequencyInterval"], i["retentionUnit"], i["retentionValue"])
                 for p in schedule["policies"] for i in p["policyItems"])
    assert got == [("daily", 1, "days", 14), ("hourly", 6, "days", 3)]


# ---- atlas_restore ----------------------------------------------------------------------------
def damage_micmap() -> None:
    with Lab.mongo(MICMAP_PORT) as client:
        client.micmap.mics.delete_many({"day": "Monday"})
        client.micmap.mics.insert_one({"name": "written after the snapshot"})
        client.micmap.venues.drop()


def test_restore_from_snapshot_recognised_and_faults(lab: Lab, playbooks: t.Any) -> None:
    taken = api("POST", "clusters/micmap-cluster/backup/snapshots", {"description": "good", "retentionInDays": 1})
    snapshot = wait_snapshot_done(taken.json()["id"], "micmap-cluster")
    damage_micmap()
    assert counts(MICMAP_PORT, "micmap") != {"mics": 60, "venues": 12}
    task = module("atlas_restore", cluster="micmap-cluster", snapshot=snapshot["id"], confirm="micmap-cluster", **FAST)

    wrong = dict(module("atlas_restore", cluster="micmap-cluster", snapshot="latest", confirm="fixzit-cluster"),
                 ignore_errors=True)
    run = playbooks.run([wrong] + cycle(lab, task) + [module("atlas_restore_info", cluster="micmap-cluster")])
    refused = run.results.pop(0)
    assert refused["failed"] and "set confirm to 'micmap-cluster'" in refused["msg"]
    applied, again = assert_cycle(run)[1:4:2]
    assert counts(MICMAP_PORT, "micmap") == {"mics": 60, "venues": 12}, "the documents are the snapshot's again"
    restores = [r for r in writes(lab) if r["path"].endswith("/restoreJobs")]
    assert len(restores) == 1 and len(lab.restore_jobs()) == 1, "one restore job"
    assert applied["restore"]["status"] == "finished"
    assert again["restore"]["id"] == applied["restore"]["id"], "the re-run recognised the job"
    assert [j["id"] for j in run.results[5]["restore_jobs"]] == [applied["restore"]["id"]]

    # 5xx and 429 bursts: the restore goes through once. not_before makes the finished job too old to count.
    damage_micmap()
    admin("POST", "faults", {"error_rate": 0.3, "error_status": 503, "rate_limit_burst": 2, "seed": 17})
    faulty = playbooks.run([module("atlas_restore", cluster="micmap-cluster", snapshot="latest",
                                   confirm="micmap-cluster", not_before=str(int(time.time())), **FAST)])
    admin("DELETE", "faults")
    assert faulty.rc == 0 and faulty.last["changed"], faulty.stdout
    assert len(lab.restore_jobs()) == 2, "exactly one more restore job despite the faults"
    assert counts(MICMAP_PORT, "micmap") == {"mics": 60, "venues": 12}
    statuses = {r["status"] for r in lab.requests()}
    assert 503 in statuses and 429 in statuses, "the faults did happen"


def test_point_in_time_picks_the_right_state(lab: Lab, playbooks: t.Any) -> None:
    with Lab.mongo(FIXZIT_PORT) as client:
        orders = client.fixzit.workOrders
        orders.insert_one({"number": 9001, "title": "state A"})
        admin("POST", "journal/sample")
        moment_a = int(time.time())
        time.sleep(1.2 - (time.time() % 1) + 0.1)  # the next write lands in a later second
        orders.delete_many({"status": "closed"})
        orders.insert_one({"number": 9002, "title": "state B"})
        admin("POST", "journal/sample")
        state_b = orders.count_documents({})
    task = module("atlas_restore", cluster="fixzit-cluster", point_in_time=str(moment_a), confirm="fixzit-cluster",
                  **FAST)
    assert_cycle(playbooks.run(cycle(lab, task)))
    with Lab.mongo(FIXZIT_PORT) as client:
        orders = client.fixzit.workOrders
        assert orders.count_documents({"number": 9001}) == 1 and orders.count_documents({"number": 9002}) == 0
        assert orders.count_documents({}) == 201 != state_b
    assert len(lab.restore_jobs()) == 1 and lab.restore_jobs()[0]["pointInTimeUTCSeconds"] == moment_a


def test_api_down_mid_wait_names_the_job_and_the_rerun_attaches(lab: Lab, playbooks: t.Any) -> None:
    taken = api("POST", "clusters/micmap-cluster/backup/snapshots", {"description": "good", "retentionInDays": 1})
    snapshot = wait_snapshot_done(taken.json()["id"], "micmap-cluster")
    damage_micmap()
    admin("POST", "knobs", {"restore_seconds": 6})
    task = module("atlas_restore", cluster="micmap-cluster", snapshot=snapshot["id"], confirm="micmap-cluster",
                  retries=1, retry_max_wait=1, **FAST)
    outcome: dict[str, t.Any] = {}
    worker = threading.Thread(target=lambda: outcome.update(run=playbooks.run([task])))
    worker.start()
    deadline = time.monotonic() + 30
    while not [r for r in lab.requests("POST") if r["path"].endswith("/restoreJobs")]:
        assert time.monotonic() < deadline, "the restore job was never started"
        time.sleep(0.1)
    pid = int((LAB_DIR / "atlas" / "emulator.pid").read_text())
    os.kill(pid, signal.SIGKILL)  # the emulator this suite started
    worker.join(60)
    failed = outcome["run"]
    start_instance()
    jobs = Lab.state()["restore"]
    assert len(jobs) == 1
    job_id = jobs[0]["id"]
    assert failed.rc != 0
    assert f"restore job {job_id}" in failed.last["msg"] and failed.last["restore_job_id"] == job_id, failed.last["msg"]

    admin("POST", "knobs", {"restore_seconds": 0.5})
    again = playbooks.run([dict(task, **{"appops.runbooks.atlas_restore": dict(
        task["appops.runbooks.atlas_restore"], retries=6, retry_max_wait=12)})])
    assert again.rc == 0, again.stdout
    assert again.last["restore"]["id"] == job_id and not again.last["changed"]
    assert len(Lab.state()["restore"]) == 1, "no second restore job"
    assert counts(MICMAP_PORT, "micmap") == {"mics": 60, "venues": 12}


# ---- credentials ------------------------------------------------------------------------------
def test_service_account_token_kept_and_no_secret_at_vvvv(lab: Lab, playbooks: t.Any, tmp_path: t.Any) -> None:
    oauth = Playbooks(tmp_path, {"group/appops.runbooks.atlas": {"project_id": GROUP, "api_url": API}})
    env = {"MONGODB_ATLAS_CLIENT_ID": atlas.CLIENT_ID, "MONGODB_ATLAS_CLIENT_SECRET": atlas.CLIENT_SECRET}
    task = module("atlas_backup_policy", cluster="micmap-cluster", reference_hour_of_day=5)
    run = oauth.run([task], verbosity=4, env=env)
    assert run.rc == 0 and run.last["changed"], run.stdout
    tokens = [r for r in lab.requests() if r["path"] == "/api/oauth/token"]
    api_calls = [r for r in lab.requests() if "/backup/schedule" in r["path"]]
    assert len(tokens) == 1 and len(api_calls) == 2, "one token for the module's requests"
    assert all(r["principal"] == f"serviceaccount:{atlas.CLIENT_ID}" for r in api_calls)
    with sqlite3.connect(LAB_DIR / "atlas" / "state.db") as db:
        issued = [row[0] for row in db.execute("SELECT id FROM objects WHERE kind = 'token'")]
    assert issued
    for secret in [atlas.CLIENT_SECRET, *issued]:
        assert secret not in run.stdout

    digest = playbooks.run([module("atlas_cluster_info", cluster="micmap-cluster")], verbosity=4)
    assert digest.rc == 0 and atlas.PRIVATE_KEY not in digest.stdout
    assert PORTS["ATLAS_EMU_API_PORT"] in digest.stdout  # the output is the verbose one


# ---- mongodb_index ----------------------------------------------------------------------------
def test_mongodb_index_desired_state_and_usage(lab: Lab, tmp_path: t.Any) -> None:
    uri = f"mongodb://127.0.0.1:{FIXZIT_PORT}/fixzit"
    # The connection string once for the group, as a play would give it.
    playbooks = Playbooks(tmp_path, {"group/appops.runbooks.mongodb": {"uri": uri}})
    create = module("mongodb_index", collection="workOrders", keys={"status": 1, "createdAt": -1})
    sparse = module("mongodb_index", collection="workOrders", keys={"status": 1, "createdAt": -1}, sparse=True)
    drop = module("mongodb_index", collection="workOrders", name="organizationId_1_status_1", state="absent")
    check = [dict(task, check_mode=True) for task in (create, drop)]
    sparse = dict(sparse, diff=True)
    run = playbooks.run(check + [create, dict(create, check_mode=True), create, sparse, sparse,
                                 drop, dict(drop, check_mode=True), drop], verbosity=4)
    assert run.rc == 0, run.stdout
    assert changed(run.results) == [True, True, True, False, False, True, False, True, False, False], run.stdout
    assert run.results[2]["index"]["name"] == "status_1_createdAt_-1"
    assert run.results[5]["diff"]["before"]["sparse"] is False and run.results[5]["diff"]["after"]["sparse"] is True
    assert uri not in run.stdout, "the connection string is no_log"
    with Lab.mongo(FIXZIT_PORT) as client:
        info = client.fixzit.workOrders.index_information()
        assert info["status_1_createdAt_-1"]["key"] == [("status", 1), ("createdAt", -1)]
        assert info["status_1_createdAt_-1"].get("sparse") is True
        assert "organizationId_1_status_1" not in info
        for status in ("open", "open", "closed"):
            list(client.fixzit.workOrders.find({"status": status}))

    usage = playbooks.run([module("mongodb_index_info", collection="workOrders"), module("mongodb_index_info")])
    assert usage.rc == 0, usage.stdout
    indexes = {i["name"]: i for i in usage.results[0]["indexes"]["workOrders"]}
    assert set(indexes) == {"_id_", "status_1_createdAt_-1"}
    assert indexes["status_1_createdAt_-1"]["usage"]["ops"] >= 3 and indexes["_id_"]["usage"]["ops"] == 0
    assert set(usage.results[1]["indexes"]) == {"organizations", "users", "workOrders", "auditLogs"}

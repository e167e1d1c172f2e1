"""The Atlas emulator behaves as Atlas does over time, and its backups hold real documents:
tier changes move through UPDATING, snapshots capture and restores bring back the cluster's
documents (checked with pymongo on the cluster's own server), point in time picks the state of
the requested second, the access list expires entries, lists paginate, the rate limit answers
429 with Retry-After, and the state survives a killed emulator."""

from __future__ import annotations

import io
import os
import signal
import tarfile
import time
from typing import Any

import bson
import pytest
import requests
from atlas_lab_helpers import (FIXZIT_PORT, GROUP, GROUP_PATH, MICMAP_PORT, TEST_LAB_DIR, V1, V2024, Atlas, admin,
                               lab_script, validate_response, wait_until)
from pymongo import MongoClient

pytestmark = pytest.mark.integration

FIXZIT = f"{GROUP_PATH}/clusters/fixzit-cluster"
MICMAP = f"{GROUP_PATH}/clusters/micmap-cluster"
CLUSTER = "/api/atlas/v2/groups/{groupId}/clusters/{clusterName}"


def mongo(port: int) -> MongoClient:
    return MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=5000, directConnection=True)


def iso_in(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


def take_snapshot(client: Atlas, cluster: str = FIXZIT, retention: int = 1) -> dict[str, Any]:
    taken = client.call("POST", f"{cluster}/backup/snapshots", body={"description": "test", "retentionInDays": retention})
    assert taken.status_code == 200, taken.text
    return taken.json()


def wait_snapshot(client: Atlas, snapshot_id: str, cluster: str = FIXZIT) -> list[str]:
    """Poll until completed; returns the statuses seen in order."""
    seen: list[str] = []

    def done() -> bool:
        status = client.get(f"{cluster}/backup/snapshots/{snapshot_id}").json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        return status == "completed"
    wait_until(done, interval=0.1)
    return seen


def restore(client: Atlas, body: dict[str, Any], cluster: str = FIXZIT) -> dict[str, Any]:
    created = client.call("POST", f"{cluster}/backup/restoreJobs", body=body)
    assert created.status_code == 200, created.text
    path = f"{cluster}/backup/restoreJobs/{created.json()['id']}"
    return wait_until(lambda: (job := client.get(path).json()).get("finishedAt") and job)


def automated(snapshot_id: str, target: str = "fixzit-cluster") -> dict[str, Any]:
    return {"deliveryType": "automated", "snapshotId": snapshot_id, "targetClusterName": target,
            "targetGroupId": GROUP}


def test_tier_change_moves_updating_then_idle(atlas_lab: Atlas) -> None:
    patch = {"replicationSpecs": [{"regionConfigs": [{"electableSpecs": {"instanceSize": "M40"},
                                                      "autoScaling": {"compute": {"enabled": True,
                                                                                  "minInstanceSize": "M30",
                                                                                  "maxInstanceSize": "M50"}}}]}]}
    changed = atlas_lab.call("PATCH", FIXZIT, V2024, patch)
    assert changed.status_code == 200
    assert changed.json()["stateName"] == "UPDATING"
    started = time.monotonic()
    current = atlas_lab.get(FIXZIT, V2024).json()
    assert current["stateName"] == "UPDATING"
    region = current["replicationSpecs"][0]["regionConfigs"][0]
    assert region["electableSpecs"]["instanceSize"] == "M40"
    assert region["autoScaling"]["compute"] == {"enabled": True, "scaleDownEnabled": False,
                                                "minInstanceSize": "M30", "maxInstanceSize": "M50"}
    wait_until(lambda: atlas_lab.get(FIXZIT, V2024).json()["stateName"] == "IDLE", timeout=10)
    assert time.monotonic() - started >= 1.0, "the update takes time (knob: 2 s)"
    unchanged = atlas_lab.call("PATCH", FIXZIT, V2024, patch)
    assert unchanged.json()["stateName"] == "IDLE", "a PATCH that changes nothing starts no update"
    bad = atlas_lab.call("PATCH", FIXZIT, V2024, {"replicationSpecs": [{"regionConfigs": [{"autoScaling": {
        "compute": {"enabled": True, "minInstanceSize": "M60", "maxInstanceSize": "M30"}}}]}]})
    assert bad.status_code == 400


def test_m0_cannot_be_scaled_in_place_but_upgrades_with_tenant_upgrade(atlas_lab: Atlas) -> None:
    refused = atlas_lab.call("PATCH", MICMAP, V2024, {"replicationSpecs": [{"regionConfigs": [
        {"electableSpecs": {"instanceSize": "M10"}}]}]})
    assert refused.status_code == 400
    assert refused.json()["errorCode"] == "TENANT_CLUSTER_UPDATE_UNSUPPORTED"
    validate_response(CLUSTER, "PATCH", refused)
    legacy = atlas_lab.call("PATCH", MICMAP, V1, {"providerSettings": {"instanceSizeName": "M10"}})
    assert legacy.status_code == 400
    cluster = atlas_lab.get(MICMAP, V2024).json()
    assert cluster["stateName"] == "IDLE"
    assert cluster["replicationSpecs"][0]["regionConfigs"][0]["electableSpecs"]["instanceSize"] == "M0"
    upgraded = atlas_lab.call("POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1, {
        "name": "micmap-cluster", "providerSettings": {"providerName": "AWS", "instanceSizeName": "M10"}})
    assert upgraded.status_code == 200 and upgraded.json()["stateName"] == "UPDATING"
    validate_response("/api/atlas/v2/groups/{groupId}/clusters/tenantUpgrade", "POST", upgraded)
    again = atlas_lab.call("POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1, {
        "name": "micmap-cluster", "providerSettings": {"providerName": "AWS", "instanceSizeName": "M20"}})
    assert again.status_code == 400 and again.json()["errorCode"] == "CLUSTER_NOT_TENANT", "one upgrade at a time"
    during = atlas_lab.get(MICMAP, V2024).json()
    assert during["stateName"] == "UPDATING", "the upgrade takes time (knob: 2 s)"
    assert during["replicationSpecs"][0]["regionConfigs"][0]["electableSpecs"]["instanceSize"] == "M10"
    wait_until(lambda: atlas_lab.get(MICMAP, V2024).json()["stateName"] == "IDLE", timeout=10)
    region = atlas_lab.get(MICMAP, V2024).json()["replicationSpecs"][0]["regionConfigs"][0]
    assert region["providerName"] == "AWS" and region["electableSpecs"]["instanceSize"] == "M10"
    assert mongo(MICMAP_PORT).micmap.mics.count_documents({}) == 60, "the upgrade keeps the documents"


def test_on_demand_snapshot_moves_queued_in_progress_completed_and_a_second_is_refused(atlas_lab: Atlas) -> None:
    first = take_snapshot(atlas_lab, retention=3)
    assert first["status"] == "queued" and first["snapshotType"] == "onDemand"
    created, expires = first["createdAt"], first["expiresAt"]
    assert time.mktime(time.strptime(expires, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(
        time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")) == 3 * 86400, "retentionInDays sets expiresAt"
    second = atlas_lab.call("POST", f"{FIXZIT}/backup/snapshots", body={"retentionInDays": 1})
    assert second.status_code == 400
    assert second.json()["errorCode"] == "ON_DEMAND_SNAPSHOT_ALREADY_IN_PROGRESS"
    statuses = wait_snapshot(atlas_lab, first["id"])
    assert statuses in (["queued", "inProgress", "completed"], ["inProgress", "completed"])
    third = atlas_lab.call("POST", f"{FIXZIT}/backup/snapshots", body={"retentionInDays": 1})
    assert third.status_code == 200, "once the first completed, another may start"
    listed = atlas_lab.get(f"{FIXZIT}/backup/snapshots").json()
    assert [s["id"] for s in listed["results"]] == [third.json()["id"], first["id"]]


def test_an_empty_cluster_is_a_cluster_whose_snapshots_capture_nothing(atlas_lab: Atlas) -> None:
    """Fleet runs' clusters (POST /__lab/clusters): no MongoDB server; the API is any cluster's."""
    assert admin("POST", "clusters", {"names": ["empty-1"]}).json() == {"added": ["empty-1"]}
    assert admin("POST", "clusters", {"names": ["empty-1"]}).json() == {"added": []}, "adding again adds nothing"
    empty = f"{GROUP_PATH}/clusters/empty-1"
    described = atlas_lab.get(empty, V2024)
    validate_response(CLUSTER, "GET", described)
    assert described.json()["stateName"] == "IDLE"
    taken = take_snapshot(atlas_lab, cluster=empty)
    assert atlas_lab.call("POST", f"{empty}/backup/snapshots", body={"retentionInDays": 1}).status_code == 400
    assert wait_snapshot(atlas_lab, taken["id"], cluster=empty)[-1] == "completed"
    assert atlas_lab.get(f"{empty}/backup/snapshots/{taken['id']}").json()["storageSizeBytes"] == 0


def test_snapshot_holds_the_documents_and_an_automated_restore_brings_them_back(atlas_lab: Atlas) -> None:
    db = mongo(FIXZIT_PORT).fixzit
    closed = db.workOrders.count_documents({"status": "closed"})
    assert closed == 66
    snap = take_snapshot(atlas_lab)
    wait_snapshot(atlas_lab, snap["id"])
    db.workOrders.insert_one({"number": 9999, "title": "written after the snapshot"})
    db.workOrders.delete_many({"status": "closed"})
    db.scratch.insert_one({"temp": True})
    assert db.workOrders.count_documents({}) == 200 - closed + 1
    job = restore(atlas_lab, automated(snap["id"]))
    assert job["failed"] is False and job["cancelled"] is False and job["finishedAt"]
    assert db.workOrders.count_documents({}) == 200
    assert db.workOrders.count_documents({"number": 9999}) == 0, "the later document is gone"
    assert db.workOrders.count_documents({"status": "closed"}) == closed, "the deleted ones are back"
    assert "scratch" not in db.list_collection_names(), "the restore replaced the whole cluster"
    assert db.users.count_documents({}) == 40 and db.auditLogs.count_documents({}) == 300
    # nx-27017 names indexes its own way (idx_<collection>_<fields>); the keys are what must come back.
    keys = [info["key"] for info in db.workOrders.index_information().values()]
    assert [("organizationId", 1), ("status", 1)] in keys


def test_automated_restore_into_another_cluster_wipes_it(atlas_lab: Atlas) -> None:
    snap = take_snapshot(atlas_lab, MICMAP)
    wait_snapshot(atlas_lab, snap["id"], MICMAP)
    job = restore(atlas_lab, automated(snap["id"], target="fixzit-cluster"), cluster=MICMAP)
    assert job["targetClusterName"] == "fixzit-cluster" and not job["failed"]
    target = mongo(FIXZIT_PORT)
    assert "fixzit" not in target.list_database_names(), "the target's own databases are gone"
    assert target.micmap.mics.count_documents({}) == 60


def test_point_in_time_restores_the_state_of_that_second(atlas_lab: Atlas) -> None:
    db = mongo(FIXZIT_PORT).fixzit
    db.notes.insert_one({"name": "A"})
    time.sleep(1.6)  # the journal samples every second
    t1 = int(time.time())
    time.sleep(t1 + 1.2 - time.time())
    db.notes.insert_one({"name": "B"})
    db.workOrders.delete_many({})
    time.sleep(1.6)
    job = restore(atlas_lab, {"deliveryType": "pointInTime", "pointInTimeUTCSeconds": t1,
                              "targetClusterName": "fixzit-cluster", "targetGroupId": GROUP})
    assert not job["failed"] and job["pointInTimeUTCSeconds"] == t1
    assert sorted(d["name"] for d in db.notes.find()) == ["A"]
    assert db.workOrders.count_documents({}) == 200
    # The same second by oplog timestamp, after B was written again.
    db.notes.insert_one({"name": "C"})
    time.sleep(1.6)
    by_oplog = restore(atlas_lab, {"deliveryType": "pointInTime", "oplogTs": t1, "oplogInc": 1,
                                   "targetClusterName": "fixzit-cluster", "targetGroupId": GROUP})
    assert not by_oplog["failed"]
    assert sorted(d["name"] for d in db.notes.find()) == ["A"]


def test_point_in_time_needs_continuous_backup_and_a_time_in_the_window(atlas_lab: Atlas) -> None:
    on_m0 = atlas_lab.call("POST", f"{MICMAP}/backup/restoreJobs", body={
        "deliveryType": "pointInTime", "pointInTimeUTCSeconds": int(time.time()) - 1,
        "targetClusterName": "micmap-cluster", "targetGroupId": GROUP})
    assert on_m0.status_code == 400 and on_m0.json()["errorCode"] == "POINT_IN_TIME_NOT_ENABLED"
    future = atlas_lab.call("POST", f"{FIXZIT}/backup/restoreJobs", body={
        "deliveryType": "pointInTime", "pointInTimeUTCSeconds": int(time.time()) + 3600,
        "targetClusterName": "fixzit-cluster", "targetGroupId": GROUP})
    assert future.status_code == 400 and future.json()["errorCode"] == "INVALID_POINT_IN_TIME"


def test_download_restore_delivers_the_dump_until_it_expires(atlas_lab: Atlas) -> None:
    admin("POST", "knobs", {"download_ttl_seconds": 3})
    snap = take_snapshot(atlas_lab)
    wait_snapshot(atlas_lab, snap["id"])
    job = restore(atlas_lab, {"deliveryType": "download", "snapshotId": snap["id"]})
    assert job["deliveryUrl"] and job["expired"] is False
    archive = requests.get(job["deliveryUrl"][0], timeout=10)
    assert archive.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(archive.content), mode="r:gz") as bundle:
        raw = bundle.extractfile(f"{snap['id']}/fixzit/workOrders.bson").read()  # type: ignore[union-attr]
    assert len(bson.decode_all(raw)) == 200
    path = f"{FIXZIT}/backup/restoreJobs/{job['id']}"
    wait_until(lambda: atlas_lab.get(path).json()["expired"], timeout=10)
    assert requests.get(job["deliveryUrl"][0], timeout=10).status_code == 410


def test_a_queued_restore_can_be_cancelled_and_then_never_runs(atlas_lab: Atlas) -> None:
    admin("POST", "knobs", {"restore_seconds": 3})
    snap = take_snapshot(atlas_lab)
    wait_snapshot(atlas_lab, snap["id"])
    mongo(FIXZIT_PORT).fixzit.workOrders.insert_one({"number": 7777})
    created = atlas_lab.call("POST", f"{FIXZIT}/backup/restoreJobs", body=automated(snap["id"])).json()
    cancel = atlas_lab.call("DELETE", f"{FIXZIT}/backup/restoreJobs/{created['id']}")
    assert cancel.status_code == 204
    time.sleep(3.5)
    job = atlas_lab.get(f"{FIXZIT}/backup/restoreJobs/{created['id']}").json()
    assert job["cancelled"] is True and "finishedAt" not in job
    assert mongo(FIXZIT_PORT).fixzit.workOrders.count_documents({"number": 7777}) == 1


def test_scheduled_snapshot_follows_the_policy(atlas_lab: Atlas) -> None:
    schedule = atlas_lab.call("PATCH", f"{FIXZIT}/backup/schedule", V2024, {
        "referenceHourOfDay": 1, "referenceMinuteOfHour": 30, "policies": [{"policyItems": [
            {"frequencyType": "hourly", "frequencyInterval": 4, "retentionUnit": "days", "retentionValue": 3}]}]})
    assert schedule.status_code == 200
    upcoming = time.mktime(time.strptime(schedule.json()["nextSnapshot"], "%Y-%m-%dT%H:%M:%SZ"))
    assert time.gmtime(upcoming).tm_min == 30 and (time.gmtime(upcoming).tm_hour - 1) % 4 == 0
    assert 0 < upcoming - time.mktime(time.gmtime()) <= 4 * 3600
    fired = admin("POST", "clusters/fixzit-cluster/scheduled-snapshot").json()
    assert fired["snapshotType"] == "scheduled" and fired["frequencyType"] == "hourly"
    listed = atlas_lab.get(f"{FIXZIT}/backup/snapshots").json()["results"]
    assert listed[0]["id"] == fired["id"] and listed[0]["snapshotType"] == "scheduled"
    kept = time.mktime(time.strptime(fired["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(
        time.strptime(fired["createdAt"], "%Y-%m-%dT%H:%M:%SZ"))
    assert kept == 3 * 86400


def test_access_list_entries_expire_at_delete_after_date(atlas_lab: Atlas) -> None:
    added = atlas_lab.call("POST", f"{GROUP_PATH}/accessList", body=[
        {"ipAddress": "192.0.2.7", "comment": "on call", "deleteAfterDate": iso_in(3)}])
    assert added.status_code == 200
    entry = atlas_lab.get(f"{GROUP_PATH}/accessList/192.0.2.7").json()
    assert entry["cidrBlock"] == "192.0.2.7/32" and entry["deleteAfterDate"]
    assert atlas_lab.get(f"{GROUP_PATH}/accessList/192.0.2.7/status").json()["STATUS"] == "PENDING"
    wait_until(lambda: atlas_lab.get(f"{GROUP_PATH}/accessList/192.0.2.7/status").json().get("STATUS") == "ACTIVE")
    wait_until(lambda: atlas_lab.get(f"{GROUP_PATH}/accessList/192.0.2.7").status_code == 404, timeout=8)
    assert atlas_lab.get(f"{GROUP_PATH}/accessList/127.0.0.1").status_code == 200, "permanent entries stay"
    too_far = atlas_lab.call("POST", f"{GROUP_PATH}/accessList",
                             body=[{"ipAddress": "192.0.2.8", "deleteAfterDate": iso_in(8 * 86400)}])
    assert too_far.status_code == 400
    cidr = atlas_lab.call("POST", f"{GROUP_PATH}/accessList", body=[{"cidrBlock": "10.1.0.0/16"}])
    assert cidr.status_code == 200
    assert atlas_lab.get(f"{GROUP_PATH}/accessList/10.1.0.0%2F16").status_code == 200
    assert atlas_lab.call("DELETE", f"{GROUP_PATH}/accessList/10.1.0.0%2F16").status_code == 204


def test_pagination(atlas_lab: Atlas) -> None:
    atlas_lab.call("POST", f"{GROUP_PATH}/accessList", body=[{"ipAddress": f"198.51.100.{i}"} for i in range(7)])
    page = atlas_lab.get(f"{GROUP_PATH}/accessList", itemsPerPage=3, pageNum=3).json()
    assert page["totalCount"] == 8 and len(page["results"]) == 2
    assert {link["rel"] for link in page["links"]} == {"self", "previous"}
    first = atlas_lab.get(f"{GROUP_PATH}/accessList", itemsPerPage=3).json()
    assert [e["cidrBlock"] for e in first["results"]] == ["127.0.0.1/32", "198.51.100.0/32", "198.51.100.1/32"]
    assert "next" in {link["rel"] for link in first["links"]}
    uncounted = atlas_lab.get(f"{GROUP_PATH}/accessList", includeCount="false").json()
    assert "totalCount" not in uncounted and len(uncounted["results"]) == 8
    assert atlas_lab.get(f"{GROUP_PATH}/accessList", itemsPerPage=501).status_code == 400


def test_rate_limit_answers_429_with_retry_after(atlas_lab: Atlas) -> None:
    admin("POST", "rate-limit", {"capacity": 3, "refill_per_minute": 20})
    answers = [atlas_lab.get(GROUP_PATH) for attempt in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    limited = answers[-1]
    assert limited.headers["RateLimit-Limit"] == "3"
    assert 1 <= int(limited.headers["Retry-After"]) <= 3
    assert limited.json()["errorCode"] == "RATE_LIMITED"
    validate_response("/api/atlas/v2/groups/{groupId}", "GET", limited)
    time.sleep(int(limited.headers["Retry-After"]))
    assert atlas_lab.get(GROUP_PATH).status_code == 200, "after Retry-After a token is back"


def test_fault_knobs_bursts_errors_latency_and_the_request_log(atlas_lab: Atlas) -> None:
    since = admin("GET", "health").json()["last_seq"]
    admin("POST", "faults", {"rate_limit_burst": 2})
    assert [atlas_lab.get(GROUP_PATH).status_code for attempt in range(3)] == [429, 429, 200]
    admin("POST", "faults", {"rate_limit_burst": 0, "error_rate": 1.0, "error_status": 503})
    failed = atlas_lab.get(GROUP_PATH)
    assert failed.status_code == 503 and failed.json()["error"] == 503
    admin("POST", "faults", {"error_rate": 0, "latency_ms": 400})
    started = time.monotonic()
    assert atlas_lab.get(GROUP_PATH).status_code == 200
    assert time.monotonic() - started >= 0.4
    log = admin("GET", f"requests?since={since}").json()
    assert [r["status"] for r in log if r["status"] != 401] == [429, 429, 200, 503, 200]
    assert all(r["path"] == GROUP_PATH for r in log)


def test_state_survives_a_killed_emulator(atlas_lab: Atlas) -> None:
    snap = take_snapshot(atlas_lab)
    wait_snapshot(atlas_lab, snap["id"])
    atlas_lab.call("POST", f"{GROUP_PATH}/accessList", body=[{"ipAddress": "203.0.113.5"}])
    pid = int((TEST_LAB_DIR / "atlas" / "emulator.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z")
    result = lab_script("lab-up.sh")
    assert result.returncode == 0, result.stderr
    fresh = Atlas()
    assert fresh.get(f"{FIXZIT}/backup/snapshots/{snap['id']}").json()["status"] == "completed"
    assert fresh.get(f"{GROUP_PATH}/accessList/203.0.113.5").status_code == 200
    job = restore(fresh, automated(snap["id"]))
    assert not job["failed"]


@pytest.mark.slow
def test_the_schedule_fires_a_scheduled_snapshot_when_next_snapshot_passes(atlas_lab: Atlas) -> None:
    """An hourly policy whose reference minute is the next one: the emulator takes it by itself."""
    soon = time.gmtime(time.time() + 60)
    schedule = atlas_lab.call("PATCH", f"{MICMAP}/backup/schedule", V1, {
        "referenceHourOfDay": soon.tm_hour, "referenceMinuteOfHour": soon.tm_min, "policies": [{"policyItems": [
            {"frequencyType": "hourly", "frequencyInterval": 1, "retentionUnit": "days", "retentionValue": 1}]}]})
    due = time.mktime(time.strptime(schedule.json()["nextSnapshot"], "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())
    assert 0 < due <= 60
    assert atlas_lab.get(f"{MICMAP}/backup/snapshots").json()["totalCount"] == 0
    # Polled once a second: faster polling for 75 s would run into the emulator's rate limit.
    listed = wait_until(lambda: atlas_lab.get(f"{MICMAP}/backup/snapshots").json().get("results"), timeout=75,
                        interval=1)
    assert [(s["snapshotType"], s["frequencyType"]) for s in listed] == [("scheduled", "hourly")]
    later = atlas_lab.get(f"{MICMAP}/backup/schedule").json()["nextSnapshot"]
    assert later != schedule.json()["nextSnapshot"], "the next one moved an hour on"

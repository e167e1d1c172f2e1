"""The emulated Atlas: state, seed, and what happens over time (the ticker and the journal)."""

from __future__ import annotations

import datetime as dt
import shutil
import tarfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from bson import ObjectId

from . import (CLIENT_ID, CLIENT_SECRET, CLUSTERS, GROUP_ID, GROUP_NAME, ORG_ID, PRIVATE_KEY, PUBLIC_KEY,
               api_url, cluster_port)
from . import data
from .httpcore import ApiError, Faults, RequestLog, TokenBucket
from .seed import seed_cluster
from .store import Store

DEFAULT_KNOBS: dict[str, float] = {
    "cluster_update_seconds": 8.0,
    "snapshot_queued_seconds": 1.0,
    "snapshot_progress_seconds": 3.0,
    "restore_seconds": 3.0,
    # Non-zero: restore jobs due to run wait until it is 0 again (a job kept running for a test).
    "restore_hold": 0.0,
    "access_pending_seconds": 1.0,
    "token_ttl_seconds": 3600.0,
    "download_ttl_seconds": 3600.0,
    "journal_interval": 1.0,
}
TIERS = ("M0", "M2", "M5", "M10", "M20", "M30", "M40", "M50", "M60", "M80", "M140", "M200", "M300")
TENANT_TIERS = frozenset({"M0", "M2", "M5"})
# The providers a tenant upgrade may move a cluster to (a dedicated tier is never TENANT).
DEDICATED_PROVIDERS = frozenset({"AWS", "AZURE", "GCP"})


def checked_compute(compute: dict[str, Any], tier: str) -> dict[str, Any]:
    """Compute auto-scaling as asked, refused when enabled with bounds that are not tiers or are reversed."""
    if compute.get("enabled"):
        low, high = compute.get("minInstanceSize", tier), compute.get("maxInstanceSize", tier)
        if low not in TIERS or high not in TIERS or TIERS.index(low) > TIERS.index(high):
            raise ApiError(400, "INVALID_AUTOSCALING_BOUNDS",
                           "Compute auto-scaling minInstanceSize must not be larger than maxInstanceSize.")
    return compute


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ApiError(400, "INVALID_DATE_FORMAT", f"Invalid date format: {text}.", parameters=[text]) from None


def new_id() -> str:
    return str(ObjectId())


def default_policy_items(tier: str) -> list[dict[str, Any]]:
    """Atlas's default schedule; a free tier keeps the runbook's daily snapshot only."""
    items = [("hourly", 6, "days", 2), ("daily", 1, "days", 7), ("weekly", 6, "weeks", 4), ("monthly", 40, "months", 12)]
    if tier in TENANT_TIERS:
        items = [("daily", 1, "days", 7)]
    return [{"id": new_id(), "frequencyType": f, "frequencyInterval": i, "retentionUnit": u, "retentionValue": v}
            for f, i, u, v in items]


RETENTION_DAYS = {"days": 1, "weeks": 7, "months": 31, "years": 366}


def next_scheduled(schedule: dict[str, Any], after: float) -> tuple[float, dict[str, Any]] | None:
    """The next scheduled snapshot after ``after``: the policy's most frequent item, from the reference hour."""
    items = [item for policy in schedule.get("policies", []) for item in policy.get("policyItems", [])]
    hourly = [item for item in items if item["frequencyType"] == "hourly"]
    daily = [item for item in items if item["frequencyType"] == "daily"]
    chosen = min(hourly, key=lambda i: i["frequencyInterval"]) if hourly else (daily[0] if daily else None)
    if chosen is None:
        return None
    step = 3600 * chosen["frequencyInterval"] if chosen["frequencyType"] == "hourly" else 86400
    day = dt.datetime.fromtimestamp(after, dt.timezone.utc).replace(hour=schedule.get("referenceHourOfDay", 0),
                                                                    minute=schedule.get("referenceMinuteOfHour", 0),
                                                                    second=0, microsecond=0)
    moment = day.timestamp() - 86400
    while moment <= after:
        moment += step
    return moment, chosen


class Lab:
    def __init__(self, state: Path) -> None:
        self.state = state
        state.mkdir(parents=True, exist_ok=True)
        self.store = Store(state / "state.db")
        self.journal = data.Journal(state / "journal.db")
        self.faults = Faults()
        self.limiter = TokenBucket()
        self.requests = RequestLog()
        self.lock = threading.RLock()
        self._running_restores: set[str] = set()
        # One per cluster server: a restore, a snapshot's dump and a journal sample never overlap
        # on the same cluster, so neither captures a half-restored state.
        self._data_locks: dict[int, threading.Lock] = {}
        self._stop = threading.Event()

    def data_lock(self, port: int) -> threading.Lock:
        with self.lock:
            return self._data_locks.setdefault(port, threading.Lock())

    # ---- seed and knobs ---------------------------------------------------------------------
    @property
    def knobs(self) -> dict[str, float]:
        return {**DEFAULT_KNOBS, **(self.store.get("knobs", "lab") or {})}

    def set_knobs(self, changes: dict[str, Any]) -> dict[str, float]:
        unknown = set(changes) - set(DEFAULT_KNOBS)
        if unknown:
            raise ApiError(400, "INVALID_ATTRIBUTE", f"Unknown knobs: {sorted(unknown)}.")
        knobs = {**(self.store.get("knobs", "lab") or {}), **{k: float(v) for k, v in changes.items()}}
        self.store.put("knobs", "lab", knobs)
        self.journal.interval = float(self.knobs["journal_interval"])
        return self.knobs

    def ensure_seeded(self) -> None:
        if self.store.get("group", GROUP_ID) is None:
            self.seed_state()

    def seed_state(self) -> None:
        now = time.time()
        self.store.put("group", GROUP_ID, {"id": GROUP_ID, "name": GROUP_NAME, "orgId": ORG_ID, "created": iso(now),
                                           "clusterCount": len(CLUSTERS), "tags": [],
                                           "regionUsageRestrictions": "COMMERCIAL_FEDRAMP_REGIONS_ONLY"})
        self.store.put("apikey", PUBLIC_KEY, {"publicKey": PUBLIC_KEY, "privateKey": PRIVATE_KEY})
        self.store.put("serviceaccount", CLIENT_ID, {"clientId": CLIENT_ID, "secret": CLIENT_SECRET})
        for spec in CLUSTERS:
            self.add_cluster(GROUP_ID, spec, now)
        loopback = {"cidrBlock": "127.0.0.1/32", "ipAddress": "127.0.0.1", "comment": "lab loopback",
                    "groupId": GROUP_ID, "_activeAt": now}
        self.store.put("access", f"{GROUP_ID}:127.0.0.1", loopback, parent=GROUP_ID)

    def add_cluster(self, group_id: str, spec: dict[str, Any], now: float) -> dict[str, Any]:
        tier = str(spec["instanceSize"])
        cluster = {"id": new_id(), "name": spec["name"], "groupId": group_id, "createDate": iso(now),
                   "instanceSize": tier, "providerName": "TENANT" if tier in TENANT_TIERS else "AWS",
                   "backingProviderName": "AWS", "regionName": "US_EAST_1", "nodeCount": 3,
                   "diskSizeGB": 0.5 if tier in TENANT_TIERS else 40.0,
                   "compute": {"enabled": False, "scaleDownEnabled": False},
                   "diskAutoScaling": tier not in TENANT_TIERS, "stateName": "IDLE", "paused": False,
                   "pitEnabled": bool(spec.get("pitEnabled")), "backupEnabled": True, "mongoDBVersion": "7.0.0",
                   "_port": cluster_port(spec) if spec.get("port") else None,
                   "_app": spec.get("app"), "_database": spec.get("database"),
                   "_idleAt": None}
        schedule = {"policies": [{"id": new_id(), "policyItems": default_policy_items(tier)}],
                    "referenceHourOfDay": 2, "referenceMinuteOfHour": 0, "restoreWindowDays": 2,
                    "autoExportEnabled": False, "useOrgAndGroupNamesInExportPrefix": False}
        upcoming = next_scheduled(schedule, now)
        schedule["_next"] = upcoming[0] if upcoming else None
        cluster["_schedule"] = schedule
        return self.store.put("cluster", f"{group_id}:{spec['name']}", cluster, parent=group_id)

    def add_empty_clusters(self, names: list[str], tier: str = "M10") -> list[dict[str, Any]]:
        """Clusters with no MongoDB server behind them (``_port`` null), for fleet runs of many clusters.

        Their API is every other cluster's; what differs is the data: a snapshot of one captures an
        empty data set (no collections, 0 bytes), and the point-in-time journal skips it. A lab of a
        few hundred real servers would not fit a small machine; the snapshot jobs' life (queued,
        inProgress, completed, one on-demand at a time) does not depend on the data.
        """
        if tier not in TIERS:
            raise ApiError(400, "INVALID_ENUM_VALUE", f"An invalid enumeration value {tier} was specified.",
                           parameters=[tier, "instanceSize"])
        now = time.time()
        with self.lock:
            added = [self.add_cluster(GROUP_ID, {"name": name, "instanceSize": tier, "port": None}, now)
                     for name in names if self.store.get("cluster", f"{GROUP_ID}:{name}") is None]
            group = self.group(GROUP_ID)
            group["clusterCount"] = len(self.store.list("cluster", parent=GROUP_ID))
            self.store.put("group", GROUP_ID, group)
        return added

    def reset(self) -> None:
        """Back to the seed: state, snapshots, journal and every cluster's documents."""
        with self.lock:
            self.store.clear()
            self.journal.forget()
            for folder in ("snapshots", "downloads"):
                shutil.rmtree(self.state / folder, ignore_errors=True)
            self.faults = Faults()
            self.limiter.configure(100, 100.0)
            self.seed_state()
            for spec in CLUSTERS:
                seed_cluster(cluster_port(spec), str(spec["app"]))

    # ---- lookups ----------------------------------------------------------------------------
    def group(self, group_id: str) -> dict[str, Any]:
        group = self.store.get("group", group_id)
        if group is None:
            raise ApiError(404, "GROUP_NOT_FOUND", f"No group with ID {group_id} exists.", parameters=[group_id])
        return group

    def cluster(self, group_id: str, name: str) -> dict[str, Any]:
        self.group(group_id)
        cluster = self.store.get("cluster", f"{group_id}:{name}")
        if cluster is None:
            raise ApiError(404, "CLUSTER_NOT_FOUND", f"No cluster named {name} exists in group {group_id}.",
                           parameters=[name, group_id])
        return cluster

    def save_cluster(self, cluster: dict[str, Any]) -> dict[str, Any]:
        return self.store.put("cluster", f"{cluster['groupId']}:{cluster['name']}", cluster, parent=cluster["groupId"])

    def snapshots(self, cluster: dict[str, Any]) -> list[dict[str, Any]]:
        return self.store.list("snapshot", parent=cluster["id"])

    def snapshot(self, cluster: dict[str, Any], snapshot_id: str) -> dict[str, Any]:
        snap = self.store.get("snapshot", snapshot_id)
        if snap is None or snap["_clusterId"] != cluster["id"]:
            raise ApiError(404, "SNAPSHOT_NOT_FOUND", f"No snapshot with ID {snapshot_id} exists for cluster "
                                                      f"{cluster['name']}.", parameters=[snapshot_id, cluster["name"]])
        return snap

    # ---- clusters ---------------------------------------------------------------------------
    def change_cluster(self, cluster: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """Apply a tier/autoscaling/pause change; anything real moves the cluster to UPDATING."""
        tier = cluster["instanceSize"]
        new_tier = changes.get("instanceSize", tier)
        compute = changes.get("compute")
        if new_tier not in TIERS:
            raise ApiError(400, "INVALID_ENUM_VALUE", f"An invalid enumeration value {new_tier} was specified.",
                           parameters=[new_tier, "instanceSize"])
        if tier in TENANT_TIERS and (new_tier != tier or compute):
            raise ApiError(400, "TENANT_CLUSTER_UPDATE_UNSUPPORTED",
                           "Cannot update a free or shared-tier cluster in place; upgrade it with tenantUpgrade.",
                           parameters=[cluster["name"]])
        if new_tier in TENANT_TIERS and new_tier != tier:
            raise ApiError(400, "CANNOT_DOWNGRADE_TO_TENANT", "A dedicated cluster cannot become a shared-tier one.")
        if compute:
            compute = checked_compute({**cluster["compute"], **compute}, new_tier)
        updated = dict(cluster)
        updated["instanceSize"] = new_tier
        if compute is not None:
            updated["compute"] = compute
        for key in ("paused", "pitEnabled", "diskAutoScaling", "diskSizeGB"):
            if key in changes:
                updated[key] = changes[key]
        if updated.get("pitEnabled") and tier in TENANT_TIERS:
            raise ApiError(400, "TENANT_CLUSTER_UPDATE_UNSUPPORTED", "Continuous Cloud Backup is not available on a "
                                                                     "free or shared-tier cluster.")
        watched = ("instanceSize", "compute", "paused", "diskSizeGB", "pitEnabled", "diskAutoScaling")
        if any(updated.get(k) != cluster.get(k) for k in watched):
            updated["stateName"] = "UPDATING"
            updated["_idleAt"] = time.time() + self.knobs["cluster_update_seconds"]
        return self.save_cluster(updated)

    def tenant_upgrade(self, cluster: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
        """A shared-tier cluster becomes a dedicated one (UPDATING, then IDLE); its server and documents stay.

        Once started, the cluster reports its dedicated tier: a second upgrade, while the first
        runs or after it, finds no shared-tier cluster to upgrade.
        """
        tier, provider = wanted["tier"], wanted["provider"]
        if cluster["instanceSize"] not in TENANT_TIERS:
            raise ApiError(400, "CLUSTER_NOT_TENANT", f"Cluster {cluster['name']} is not a shared-tier cluster; "
                                                      "only a shared-tier cluster can be upgraded.",
                           parameters=[cluster["name"]])
        if provider not in DEDICATED_PROVIDERS:
            raise ApiError(400, "INVALID_ENUM_VALUE", f"An invalid enumeration value {provider} was specified.",
                           parameters=[provider, "providerName"])
        if tier in TENANT_TIERS or tier not in TIERS:
            raise ApiError(400, "INVALID_ENUM_VALUE", f"An invalid enumeration value {tier} was specified.",
                           parameters=[tier, "instanceSizeName"])
        compute = checked_compute({**cluster["compute"], **wanted["compute"]}, tier)
        updated = dict(cluster, instanceSize=tier, providerName=provider, diskSizeGB=10.0, diskAutoScaling=True,
                       regionName=wanted["region"] or cluster["regionName"], compute=compute,
                       stateName="UPDATING", _idleAt=time.time() + self.knobs["cluster_update_seconds"])
        updated["_schedule"] = dict(cluster["_schedule"], policies=[{"id": new_id(),
                                                                     "policyItems": default_policy_items(tier)}])
        return self.save_cluster(updated)

    # ---- snapshots --------------------------------------------------------------------------
    def take_snapshot(self, cluster: dict[str, Any], kind: str, description: str, retention_days: float,
                      frequency: str | None = None) -> dict[str, Any]:
        """Capture the cluster's documents now (mongodump layout) and track the job's status."""
        with self.lock:
            if kind == "onDemand" and any(s["snapshotType"] == "onDemand" and s["status"] in ("queued", "inProgress")
                                          for s in self.snapshots(cluster)):
                raise ApiError(400, "ON_DEMAND_SNAPSHOT_ALREADY_IN_PROGRESS",
                               f"An on-demand snapshot of cluster {cluster['name']} is already in progress.",
                               parameters=[cluster["name"]])
            now = time.time()
            snapshot_id = new_id()
            folder = self.state / "snapshots" / snapshot_id
            failed = False
            try:
                if cluster["_port"] is None:  # an empty cluster (add_empty_clusters): nothing to capture
                    counts = {}
                else:
                    with self.data_lock(cluster["_port"]):
                        counts = data.dump_cluster(cluster["_port"], folder)
            except Exception:  # noqa: BLE001 - an unreachable cluster makes a failed snapshot, as on Atlas
                traceback.print_exc()
                counts, failed = {}, True
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0
            knobs = self.knobs
            snap = {"id": snapshot_id, "snapshotType": kind, "type": "replicaSet", "status": "queued",
                    "description": description, "createdAt": iso(now), "expiresAt": iso(now + retention_days * 86400),
                    "cloudProvider": "AWS", "replicaSetName": cluster["name"], "mongodVersion": cluster["mongoDBVersion"],
                    "storageSizeBytes": size, "masterKeyUUID": None, "policyItems": [], "copyRegions": [],
                    "_clusterId": cluster["id"], "_groupId": cluster["groupId"], "_cluster": cluster["name"],
                    "_capturedAt": now, "_counts": counts, "_failed": failed,
                    "_progressAt": now + knobs["snapshot_queued_seconds"],
                    "_doneAt": now + knobs["snapshot_queued_seconds"] + knobs["snapshot_progress_seconds"]}
            if frequency:
                snap["frequencyType"] = frequency
            return self.store.put("snapshot", snapshot_id, snap, parent=cluster["id"])

    def delete_snapshot(self, snap: dict[str, Any]) -> None:
        self.store.delete("snapshot", snap["id"])
        shutil.rmtree(self.state / "snapshots" / snap["id"], ignore_errors=True)

    # ---- restore jobs -----------------------------------------------------------------------
    def create_restore(self, cluster: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        delivery = body.get("deliveryType")
        if delivery not in ("automated", "pointInTime", "download"):
            raise ApiError(400, "INVALID_ENUM_VALUE", f"An invalid enumeration value {delivery} was specified.",
                           parameters=[delivery, "deliveryType"])
        now = time.time()
        job: dict[str, Any] = {"id": new_id(), "deliveryType": delivery, "cancelled": False, "failed": False,
                               "expired": False, "deliveryUrl": [], "components": [],
                               "_clusterId": cluster["id"], "_cluster": cluster["name"], "_groupId": cluster["groupId"],
                               "_runAt": now + self.knobs["restore_seconds"]}
        if delivery in ("automated", "download"):
            snapshot_id = body.get("snapshotId")
            if not snapshot_id:
                raise ApiError(400, "MISSING_ATTRIBUTE", "The required attribute snapshotId was not specified.",
                               parameters=["snapshotId"])
            snap = self.snapshot(cluster, snapshot_id)
            if snap["status"] != "completed":
                raise ApiError(400, "SNAPSHOT_NOT_COMPLETE", f"Snapshot {snapshot_id} is not completed.",
                               parameters=[snapshot_id])
            job["snapshotId"] = snapshot_id
            # The spec: "Date and time when MongoDB Cloud took the snapshot associated with snapshotId".
            job["timestamp"] = snap["createdAt"]
        if delivery in ("automated", "pointInTime"):
            job.update(self._restore_target(body))
        if delivery == "pointInTime":
            job.update(self._point_in_time(cluster, body, now))
        return self.store.put("restore", job["id"], job, parent=cluster["id"])

    def _restore_target(self, body: dict[str, Any]) -> dict[str, Any]:
        name, group_id = body.get("targetClusterName"), body.get("targetGroupId")
        if not name or not group_id:
            missing = "targetClusterName" if not name else "targetGroupId"
            raise ApiError(400, "MISSING_ATTRIBUTE", f"The required attribute {missing} was not specified.",
                           parameters=[missing])
        target = self.cluster(group_id, name)
        return {"targetClusterName": name, "targetGroupId": group_id, "_targetPort": target["_port"]}

    def _point_in_time(self, cluster: dict[str, Any], body: dict[str, Any], now: float) -> dict[str, Any]:
        if not cluster.get("pitEnabled"):
            raise ApiError(400, "POINT_IN_TIME_NOT_ENABLED",
                           f"Continuous Cloud Backup is not enabled for cluster {cluster['name']}.",
                           parameters=[cluster["name"]])
        if body.get("pointInTimeUTCSeconds") is not None:
            when = float(body["pointInTimeUTCSeconds"])
            fields: dict[str, Any] = {"pointInTimeUTCSeconds": int(when)}
        elif body.get("oplogTs") is not None:
            # An oplog timestamp names a second plus an ordinal inside it; the journal keeps whole seconds.
            when = float(body["oplogTs"])
            fields = {"oplogTs": int(body["oplogTs"]), "oplogInc": int(body.get("oplogInc") or 1)}
        else:
            raise ApiError(400, "MISSING_ATTRIBUTE", "Specify pointInTimeUTCSeconds or oplogTs and oplogInc.",
                           parameters=["pointInTimeUTCSeconds"])
        window = float(cluster["_schedule"].get("restoreWindowDays", 2)) * 86400
        earliest = self.journal.earliest(cluster["name"])
        if when > now or when < now - window or earliest is None or when < earliest - 1:
            raise ApiError(400, "INVALID_POINT_IN_TIME",
                           f"The point in time {int(when)} is outside the restore window of cluster {cluster['name']}.",
                           parameters=[int(when)])
        # The state at that second: everything written during it.
        return {**fields, "timestamp": iso(int(when)), "_when": when + 0.999}

    def cancel_restore(self, job: dict[str, Any]) -> None:
        with self.lock:
            job = self.store.get("restore", job["id"]) or job
            if job.get("finishedAt") or job["cancelled"] or job["id"] in self._running_restores:
                raise ApiError(400, "CANNOT_CANCEL_RESTORE_JOB", f"Restore job {job['id']} can no longer be cancelled.",
                               parameters=[job["id"]])
            job["cancelled"] = True
            self.store.put("restore", job["id"], job, parent=job["_clusterId"])

    def _run_restore(self, job: dict[str, Any]) -> None:
        try:
            if job["deliveryType"] == "download":
                self._prepare_download(job)
            else:
                if job["deliveryType"] == "automated":
                    contents = data.read_dump(self.state / "snapshots" / job["snapshotId"])
                else:
                    contents = self.journal.state_at(job["_cluster"], job["_when"])
                with self.data_lock(job["_targetPort"]):
                    job["_counts"] = data.restore_cluster(job["_targetPort"], contents)
        except Exception as error:  # noqa: BLE001 - the job fails, as a failed restore does on Atlas
            traceback.print_exc()
            job["failed"] = True
            job["_error"] = str(error)
        job["finishedAt"] = iso(time.time())
        with self.lock:
            self.store.put("restore", job["id"], job, parent=job["_clusterId"])
            self._running_restores.discard(job["id"])

    def _prepare_download(self, job: dict[str, Any]) -> None:
        downloads = self.state / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        archive = downloads / f"{job['id']}.tar.gz"
        with tarfile.open(archive, "w:gz") as bundle:
            bundle.add(self.state / "snapshots" / job["snapshotId"], arcname=job["snapshotId"])
        now = time.time()
        job["deliveryUrl"] = [f"{api_url()}/__lab/downloads/{job['id']}/{job['snapshotId']}.tar.gz"]
        job["expiresAt"] = iso(now + self.knobs["download_ttl_seconds"])
        job["_expiresTs"] = now + self.knobs["download_ttl_seconds"]

    # ---- access list ------------------------------------------------------------------------
    def access_entries(self, group_id: str) -> list[dict[str, Any]]:
        return self.store.list("access", parent=group_id)

    # ---- time passes ------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.lock:
            for cluster in self.store.list("cluster"):
                self._tick_cluster(cluster, now)
            for snap in self.store.list("snapshot"):
                self._tick_snapshot(snap, now)
            for job in self.store.list("restore"):
                self._tick_restore(job, now)
            for entry in self.store.list("access"):
                if entry.get("deleteAfterDate") and parse_iso(entry["deleteAfterDate"]) <= now:
                    self.store.delete("access", f"{entry['groupId']}:{entry_value(entry)}")

    def _tick_cluster(self, cluster: dict[str, Any], now: float) -> None:
        if cluster["stateName"] == "UPDATING" and cluster.get("_idleAt") and now >= cluster["_idleAt"]:
            cluster.update(stateName="IDLE", _idleAt=None)
            self.save_cluster(cluster)
        schedule = cluster["_schedule"]
        if schedule.get("_next") and now >= schedule["_next"] and cluster.get("backupEnabled"):
            self.scheduled_snapshot(cluster, now)

    def scheduled_snapshot(self, cluster: dict[str, Any], now: float | None = None) -> dict[str, Any] | None:
        now = time.time() if now is None else now
        schedule = cluster["_schedule"]
        upcoming = next_scheduled(schedule, now - 1)
        snap = None
        if upcoming:
            item = upcoming[1]
            days = item["retentionValue"] * RETENTION_DAYS[item["retentionUnit"]]
            snap = self.take_snapshot(cluster, "scheduled", "", days, frequency=item["frequencyType"])
            snap["policyItems"] = [item["id"]]
            self.store.put("snapshot", snap["id"], snap, parent=cluster["id"])
        following = next_scheduled(schedule, now)
        schedule["_next"] = following[0] if following else None
        cluster["_schedule"] = schedule
        self.save_cluster(cluster)
        return snap

    def _tick_snapshot(self, snap: dict[str, Any], now: float) -> None:
        status = snap["status"]
        if status == "queued" and now >= snap["_progressAt"]:
            snap["status"] = "inProgress"
        if snap["status"] == "inProgress" and now >= snap["_doneAt"]:
            snap["status"] = "failed" if snap.get("_failed") else "completed"
        if snap["status"] != status:
            self.store.put("snapshot", snap["id"], snap, parent=snap["_clusterId"])
        if snap["status"] in ("completed", "failed") and parse_iso(snap["expiresAt"]) <= now:
            self.delete_snapshot(snap)

    def _tick_restore(self, job: dict[str, Any], now: float) -> None:
        if job["cancelled"] or job["id"] in self._running_restores:
            return
        if job.get("finishedAt"):
            if job.get("_expiresTs") and now >= job["_expiresTs"] and not job["expired"]:
                job["expired"] = True
                self.store.put("restore", job["id"], job, parent=job["_clusterId"])
            return
        if now >= job["_runAt"] and not self.knobs["restore_hold"]:
            self._running_restores.add(job["id"])
            threading.Thread(target=self._run_restore, args=(job,), daemon=True).start()

    def sample_journal(self) -> None:
        """One pass of the point-in-time journal over every cluster (pitEnabled is checked at restore time)."""
        for cluster in self.store.list("cluster"):
            if cluster["_port"] is None:
                continue
            try:
                with self.data_lock(cluster["_port"]):
                    self.journal.sample(cluster["name"], cluster["_port"])
                window = float(cluster["_schedule"].get("restoreWindowDays", 2)) * 86400
                self.journal.prune(cluster["name"], time.time() - window)
            except Exception:  # noqa: BLE001 - a stopped cluster leaves a gap; the next pass carries on
                continue

    def run_background(self) -> None:
        def ticker() -> None:
            while not self._stop.wait(0.25):
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - keep time moving
                    traceback.print_exc()

        def journal() -> None:
            while not self._stop.wait(self.knobs["journal_interval"]):
                self.sample_journal()

        threading.Thread(target=ticker, daemon=True).start()
        threading.Thread(target=journal, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


def entry_value(entry: dict[str, Any]) -> str:
    return entry.get("ipAddress") or entry["cidrBlock"]

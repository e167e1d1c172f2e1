#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_restore
short_description: Restore a MongoDB Atlas cluster from a snapshot or a point in time
version_added: 0.1.0
description:
  - Starts an Atlas cloud backup restore job of O(cluster) into O(target_cluster) and waits for it. The
    source is a snapshot (O(snapshot), by id or V(latest), the newest completed snapshot; an C(automated)
    restore) or a point in time (O(point_in_time); a C(pointInTime) restore, which needs Continuous Cloud
    Backup on the source cluster).
  - B(Destructive.) Atlas replaces all data of the target cluster with the restored data; what was written to
    it since is gone. O(confirm) must name the target cluster. Take a snapshot of the target first
    (M(appops.runbooks.atlas_snapshot)).
  - A restore job of the source cluster into the same target that is still running is attached to (waited
    for and returned, RV(attached=true)) instead of starting a second one; in check mode it is returned as a
    change (the target is still to be replaced) without waiting; a running one from another source is
    an error. When the answer to the request that starts the job is lost, the module looks for the job that
    request started before it asks again, so one task never starts two restores.
  - B(How a re-run recognises a finished restore.) The module lists the restore jobs of the source cluster and
    takes those into the same target project and cluster. When the one that finished last (by C(finishedAt);
    failed, cancelled and expired jobs do not count) came from the same source (the same C(snapshotId), or
    the same C(pointInTimeUTCSeconds)), the target counts as restored and nothing is started
    (C(changed=false)). Writes to the target after that restore, and restores into it from other source
    clusters, are not seen; set O(not_before) (for example the time the play started) so that only a job that
    finished at or after it counts.
options:
  cluster:
    description:
      - Name of the source cluster (whose snapshots or oplog are restored).
    type: str
    required: true
  target_cluster:
    description:
      - Name of the cluster restored into; by default O(cluster) itself.
    type: str
  target_project_id:
    description:
      - Project of O(target_cluster); by default O(project_id).
    type: str
  snapshot:
    description:
      - Id of the snapshot to restore, or V(latest) for the newest completed snapshot of O(cluster).
      - Exactly one of O(snapshot) and O(point_in_time) is required.
    type: str
  point_in_time:
    description:
      - The moment to restore to, as seconds since the epoch (UTC) or an ISO 8601 time
        (V(2025-11-03T02:00:00Z)); sent as C(pointInTimeUTCSeconds), whole seconds.
    type: str
  confirm:
    description:
      - Must be the name of the target cluster (O(target_cluster), else O(cluster)), which the restore wipes.
    type: str
    required: true
  not_before:
    description:
      - Seconds since the epoch or an ISO 8601 time. A finished restore job counts as having done the restore
        only when it finished at or after this moment; an earlier one is repeated.
    type: str
extends_documentation_fragment:
  - appops.runbooks.atlas
  - appops.runbooks.api_retry
  - appops.runbooks.atlas.WAIT
  - appops.runbooks.atlas.WRITE_MODULE
  - appops.runbooks.lock_heartbeat
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.atlas_restore_info
  - module: appops.runbooks.atlas_snapshot
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Restore micmap's cluster from its newest snapshot (runbook section 3)
  appops.runbooks.atlas_restore:
    project_id: "{{ atlas_project_id }}"
    cluster: micmap-cluster
    snapshot: latest
    confirm: micmap-cluster

- name: Point-in-time recovery of fixzit's cluster to just before a bad migration
  appops.runbooks.atlas_restore:
    project_id: "{{ atlas_project_id }}"
    cluster: fixzit-cluster
    point_in_time: "2025-11-03T01:59:00Z"
    confirm: fixzit-cluster
    not_before: "{{ play_started_at }}"
"""

RETURN = r"""
restore:
  description:
    - The restore job (started, attached to, or the finished one recognised), as Atlas describes it without links
      and download URLs, plus C(status) (V(running), V(finished), V(failed), V(cancelled), V(expired)).
  returned: always, except in check mode when a restore would start
  type: dict
  sample: {id: 6650a1b2c3d4e5f607182931, deliveryType: automated, snapshotId: 6650a1b2c3d4e5f607182930,
           targetClusterName: micmap-cluster, finishedAt: "2025-11-03T02:04:10Z", status: finished}
source:
  description: What is restored; C(snapshot_id) (and C(snapshot_created_at)) or C(point_in_time_utc_seconds).
  returned: always
  type: dict
attached:
  description: True when a running restore job of the same source and target was waited for instead of starting one.
  returned: always
  type: bool
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._http import ApiError
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.client import WAIT_ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import (
    describe_restore,
    parse_time,
    restore_in_flight,
    restore_status,
    wait_for_restore,
)
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule


class Source(t.NamedTuple):
    body: dict
    view: dict

    def matches(self, job: dict) -> bool:
        return all(job.get(key) == value for key, value in self.body.items())


def seconds_option(am: AtlasModule, name: str) -> float | None:
    try:
        return parse_time(am.params[name])
    except ValueError:
        am.fail(f"{name} must be seconds since the epoch or an ISO 8601 time, got {am.params[name]!r}")


def resolve_source(am: AtlasModule) -> Source:
    cluster = am.params["cluster"]
    if am.params["point_in_time"] is not None:
        when = int(t.cast(float, seconds_option(am, "point_in_time")))
        return Source({"deliveryType": "pointInTime", "pointInTimeUTCSeconds": when},
                      {"point_in_time_utc_seconds": when})
    wanted = am.params["snapshot"].strip()
    if wanted.lower() == "latest":
        am.doing("listing snapshots")
        snapshot = next((s for s in am.client.snapshots(cluster) if s.get("status") == "completed"), None)
        if snapshot is None:
            am.fail(f"Atlas cluster {cluster!r} has no completed snapshot to restore")
    else:
        am.doing(f"reading snapshot {wanted}")
        snapshot = am.client.snapshot(cluster, wanted)
        if snapshot.get("status") != "completed":
            am.fail(f"Atlas cluster {cluster!r}: snapshot {wanted} cannot be restored, its status is "
                    f"{snapshot.get('status')}")
    return Source({"deliveryType": "automated", "snapshotId": snapshot["id"]},
                  {"snapshot_id": snapshot["id"], "snapshot_created_at": snapshot.get("createdAt")})


def jobs_into_target(am: AtlasModule, target: dict) -> list[dict]:
    am.doing("listing restore jobs")
    return [job for job in am.client.restore_jobs(am.params["cluster"])
            if all(job.get(key) == value for key, value in target.items())]


def last_finished(jobs: list[dict]) -> dict | None:
    done = [job for job in jobs if restore_status(job) == "finished"]
    return max(done, key=lambda job: parse_time(job.get("finishedAt")) or 0.0, default=None)


def source_of(job: dict | None) -> dict | None:
    if job is None:
        return None
    if job.get("deliveryType") == "pointInTime":
        return {"point_in_time_utc_seconds": job.get("pointInTimeUTCSeconds")}
    return {"snapshot_id": job.get("snapshotId")}


def settle(am: AtlasModule, job: dict) -> dict:
    """Wait for the job; fail naming it when it failed, or when the wait did not get to its end."""
    if am.params["wait"] and restore_in_flight(job):
        am.doing(f"waiting for restore job {job['id']}")
        try:
            job = wait_for_restore(am.client, am.params["cluster"], job["id"], **am.wait_options())
        except ApiError as error:
            am.fail_api(error, restore_job_id=job["id"],
                        hint=f"restore job {job['id']} may still be running; a re-run of this task attaches to it")
    if restore_status(job) in ("failed", "cancelled", "expired"):
        am.fail(f"Atlas cluster {am.params['cluster']!r}: restore job {job['id']} {restore_status(job)}",
                restore=describe_restore(job), restore_job_id=job["id"])
    return describe_restore(job)


def run(am: AtlasModule) -> None:
    target_name = am.params["target_cluster"] or am.params["cluster"]
    target = {"targetClusterName": target_name, "targetGroupId": am.params["target_project_id"] or am.params["project_id"]}
    if am.params["confirm"] != target_name:
        am.fail(f"a restore replaces all data of cluster {target_name!r}: set confirm to {target_name!r} to go on")
    not_before = seconds_option(am, "not_before")
    source = resolve_source(am)
    jobs = jobs_into_target(am, target)
    running = [job for job in jobs if restore_in_flight(job)]
    other = next((job for job in running if not source.matches(job)), None)
    if other is not None:
        am.fail(f"Atlas cluster {target_name!r}: another restore job ({other['id']}, from {source_of(other)}) into it "
                "is running", restore=describe_restore(other))
    same_running = next((job for job in running if source.matches(job)), None)
    newest = last_finished(jobs)
    before = {"restored_from": source_of(newest)}
    after = {"restored_from": source.view}
    finished_at = parse_time((newest or {}).get("finishedAt"))
    if same_running is None and newest is not None and source.matches(newest) and (
            not_before is None or (finished_at is not None and finished_at >= not_before)):
        am.exit(False, before=before, after=before, restore=describe_restore(newest), source=source.view,
                attached=False)
    known = {job["id"] for job in jobs}

    def started_meanwhile() -> dict | None:
        am.doing("looking for the restore job a request whose answer was lost may have started")
        return next((job for job in jobs_into_target(am, target) if job["id"] not in known and source.matches(job)),
                    None)

    started = am.start(
        f"starting a restore of {source.view} into {target_name}",
        find_running=lambda: same_running,
        create=lambda: am.client.create_restore_job(am.params["cluster"], {**source.body, **target}),
        find_started=started_meanwhile,
    )
    if started is None:
        am.exit(True, before=before, after=after, source=source.view, attached=False)
    if am.check_mode and restore_in_flight(started.job):
        # The running job is still to replace the target's data: a change, and no wait in a check.
        am.exit(True, before=before, after=after, restore=describe_restore(started.job), source=source.view,
                attached=True)
    restore = settle(am, started.job)
    am.exit(started.started_here, before=before, after=after, restore=restore, source=source.view,
            attached=not started.started_here)


def main() -> None:
    spec: dict[str, dict[str, t.Any]] = dict(
        cluster=dict(type="str", required=True),
        target_cluster=dict(type="str"),
        target_project_id=dict(type="str"),
        snapshot=dict(type="str"),
        point_in_time=dict(type="str"),
        confirm=dict(type="str", required=True),
        not_before=dict(type="str"),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    spec.update(_lock.HEARTBEAT_ARGUMENT_SPEC)
    am = AtlasModule(spec, mutually_exclusive=[("snapshot", "point_in_time")],
                     required_one_of=[("snapshot", "point_in_time")])
    # A restore job runs for as long as Atlas takes: the run's lock must not look abandoned meanwhile.
    with _lock.module_heartbeat(am.params, am.check_mode):
        am.run(run)


if __name__ == "__main__":
    main()

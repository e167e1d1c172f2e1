#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_snapshot_fleet
short_description: A fresh on-demand snapshot of many MongoDB Atlas clusters at once
version_added: 0.1.0
description:
  - The fleet twin of M(appops.runbooks.atlas_snapshot). The desired state is that every cluster of O(clusters) has
    a C(completed) on-demand snapshot taken less than O(fresh_within) seconds ago. A cluster that has one is left
    alone, so a re-run within O(fresh_within) sends no write at all.
  - A cluster without one gets an on-demand snapshot with O(description) and O(retention_days). Atlas runs one
    on-demand snapshot of a cluster at a time and refuses a second while one runs; a cluster whose on-demand
    snapshot is running (another run's, or one started between the listing and the request) is attached to
    (waited for) instead. When the answer to the request that takes a snapshot is lost, the module looks for
    the snapshot that request took before it asks again.
  - The clusters are handled concurrently, O(concurrency) at a time, over one keep-alive HTTP session whose
    connection pool holds O(concurrency) connections. Every cluster is first read and, where needed, its
    snapshot started; then all the snapshots are waited for, so the run takes about as long as the slowest
    snapshot rather than their sum.
  - Every cluster keeps its own result in RV(clusters). When some clusters fail, the others are still handled and
    the module fails naming the failed ones.
options:
  clusters:
    description:
      - Names of the clusters.
    type: list
    elements: str
    required: true
  fresh_within:
    description:
      - Seconds. A completed on-demand snapshot younger than this satisfies a cluster (no new snapshot).
    type: float
    default: 3600
  description:
    description:
      - Description of the on-demand snapshots taken.
    type: str
    default: appops fleet backup
  retention_days:
    description:
      - Days Atlas keeps a snapshot taken; Atlas deletes it after that.
    type: int
    default: 1
  concurrency:
    description:
      - How many clusters are handled at the same time (threads, and connections in the pool).
    type: int
    default: 16
extends_documentation_fragment:
  - appops.runbooks.atlas
  - appops.runbooks.api_retry
  - appops.runbooks.atlas.WAIT
  - appops.runbooks.atlas.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
notes:
  - With O(wait=false) a snapshot started or attached to is returned as it is (C(queued) or C(inProgress)); a
    re-run then attaches to it or, once it completed, finds it fresh.
  - In check mode nothing is started or waited for; RV(changed_clusters) names the clusters that would get a snapshot.
seealso:
  - module: appops.runbooks.atlas_snapshot
  - module: appops.runbooks.atlas_snapshot_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: A snapshot of every cluster of the play not older than an hour, in one task
  appops.runbooks.atlas_snapshot_fleet:
    clusters: "{{ ansible_play_hosts | map('extract', hostvars, 'atlas_cluster_name') | list }}"
    fresh_within: 3600
    retention_days: 7
    concurrency: 32
  run_once: true
  register: fleet

- name: Clusters that got a new snapshot
  ansible.builtin.debug:
    msg: "{{ fleet.changed_clusters }}"
  run_once: true
"""

RETURN = r"""
clusters:
  description:
    - Per cluster, C(changed) (a snapshot was taken), C(attached) (a running one was waited for), C(fresh) (a
      completed one young enough was there) and C(snapshot) (C(id), C(status), C(description), C(createdAt),
      C(expiresAt)); or C(error).
  returned: always
  type: dict
  sample: {micmap-cluster: {changed: true, attached: false, fresh: false,
           snapshot: {id: 6650a1b2c3d4e5f607182930, status: completed, createdAt: "2025-11-03T02:00:00Z"}}}
changed_clusters:
  description: Clusters where a snapshot was taken (or would be, in check mode).
  returned: always
  type: list
  elements: str
attached_clusters:
  description: Clusters whose running on-demand snapshot was attached to instead of taking a second.
  returned: always
  type: list
  elements: str
failed_clusters:
  description: Clusters whose requests or snapshot failed.
  returned: always
  type: list
  elements: str
requests:
  description: Number of API requests made (retries included).
  returned: always
  type: int
writes:
  description: Number of snapshots asked for (POST requests Atlas accepted).
  returned: always
  type: int
elapsed:
  description: Seconds spent on the API requests and waits of the whole fleet (wall time).
  returned: always
  type: float
"""

import time
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._atlas.client import (
    WAIT_ARGUMENT_SPEC,
    client_from_params,
)
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import (
    parse_time,
    snapshot_running,
    wait_for_snapshot,
)
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule
from ansible_collections.appops.runbooks.plugins.module_utils._fleet import (
    CONCURRENCY_OPTION,
    FleetRun,
    guarded,
    handle_all,
    pooled_client_factory,
    unique,
    workers_for,
)
from ansible_collections.appops.runbooks.plugins.module_utils._http import ApiError

# The fields a cluster's result shows of its snapshot.
SHOWN = ("id", "status", "description", "createdAt", "expiresAt", "snapshotType")
ALREADY_RUNNING = (400, 409)


class SnapshotFleetModule(AtlasModule):
    subject_label = "Atlas clusters"
    subject_option = None


def shown(snapshot: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {key: snapshot.get(key) for key in SHOWN}


def on_demand(snapshots: list[dict]) -> list[dict]:
    return [s for s in snapshots if s.get("snapshotType") == "onDemand"]


def fresh_snapshot(snapshots: list[dict], since: float) -> dict | None:
    """The newest completed on-demand snapshot created at or after ``since`` (the listing is newest first)."""
    return next((s for s in on_demand(snapshots) if s.get("status") == "completed"
                 and (parse_time(s.get("createdAt")) or 0) >= since), None)


def running_snapshot(snapshots: list[dict]) -> dict | None:
    return next((s for s in on_demand(snapshots) if snapshot_running(s)), None)


class SnapshotFleet:
    """One run over the clusters: ``begin`` reads each and starts what is missing, ``finish`` waits."""

    def __init__(self, am: SnapshotFleetModule) -> None:
        self.am = am
        self.client = am.client
        self.params = am.params
        self.since = time.time() - self.params["fresh_within"]

    def begin(self, cluster: str) -> dict[str, t.Any]:
        snapshots = self.client.snapshots(cluster)
        fresh = fresh_snapshot(snapshots, self.since)
        if fresh is not None:
            return {"changed": False, "attached": False, "fresh": True, "snapshot": shown(fresh)}
        running = running_snapshot(snapshots)
        if running is not None:
            return {"changed": False, "attached": True, "fresh": False, "snapshot": shown(running)}
        return self.take(cluster)

    def take(self, cluster: str) -> dict[str, t.Any]:
        asked_at = time.time()

        def taken_since() -> dict | None:
            # The answer to the POST was lost: the snapshot it took, known by its description and time.
            found = next((s for s in on_demand(self.client.snapshots(cluster))
                          if s.get("description") == self.params["description"] and s.get("status") != "failed"
                          and (parse_time(s.get("createdAt")) or 0) >= asked_at - 5), None)
            return found

        try:
            started = self.am.start(
                f"taking an on-demand snapshot of {cluster}",
                find_running=lambda: None,
                create=lambda: self.client.take_snapshot(cluster, self.params["description"],
                                                         self.params["retention_days"]),
                find_started=taken_since)
        except ApiError as error:
            # Another run's snapshot started after the listing: Atlas refuses a second one; attach to it.
            running = running_snapshot(self.client.snapshots(cluster)) if error.status in ALREADY_RUNNING else None
            if running is None:
                raise
            return {"changed": False, "attached": True, "fresh": False, "snapshot": shown(running)}
        if started is None:  # check mode
            return {"changed": True, "attached": False, "fresh": False, "snapshot": None}
        return {"changed": started.started_here, "attached": not started.started_here, "fresh": False,
                "snapshot": shown(started.job)}

    def finish(self, cluster: str, outcome: dict[str, t.Any]) -> dict[str, t.Any]:
        snapshot = outcome.get("snapshot")
        if snapshot and self.params["wait"] and not self.am.check_mode and snapshot_running(snapshot):
            snapshot = shown(wait_for_snapshot(self.client, cluster, snapshot["id"], timeout=self.params["wait_timeout"],
                                               interval=self.params["poll_interval"]))
        if snapshot and snapshot.get("status") == "failed":
            raise ApiError(f"snapshot {snapshot['id']} failed", status=None)
        return dict(outcome, snapshot=snapshot)


def run(am: SnapshotFleetModule) -> None:
    clusters = unique(am.params["clusters"])
    workers = workers_for(am.params["concurrency"], clusters)
    fleet = SnapshotFleet(am)
    progress = FleetRun("Atlas clusters", lambda: am.client.history)
    # Every snapshot is asked for before any is waited for, so the waits overlap.
    begun = handle_all(clusters, guarded("Atlas cluster", fleet.begin), workers)
    pending = [name for name in clusters if "error" not in begun[name]]
    finished = handle_all(pending, guarded("Atlas cluster", lambda name: fleet.finish(name, begun[name])), workers)
    result = progress.result({name: finished.get(name, begun[name]) for name in clusters}, "clusters")
    results, changed = result["clusters"], result["changed_clusters"]
    result.update(
        attached_clusters=[name for name, outcome in results.items() if outcome.get("attached")],
        writes=sum(1 for record in am.client.history if record.method == "POST" and record.status in (200, 201, 202)),
    )
    failure = progress.failure(result, "clusters")
    if failure:
        am.fail(failure, changed=bool(changed), **result)
    am.exit(
        bool(changed),
        before={name: None for name in changed},
        after={name: {"description": am.params["description"],
                      "id": (results[name]["snapshot"] or {}).get("id")} for name in changed},
        **result,
    )


def main() -> None:
    spec: dict[str, dict[str, t.Any]] = dict(
        clusters=dict(type="list", elements="str", required=True),
        fresh_within=dict(type="float", default=3600.0),
        description=dict(type="str", default="appops fleet backup"),
        retention_days=dict(type="int", default=1),
    )
    spec.update(concurrency=dict(CONCURRENCY_OPTION))
    spec.update(WAIT_ARGUMENT_SPEC)
    SnapshotFleetModule(spec, client_factory=pooled_client_factory(client_from_params, "clusters")).run(run)


if __name__ == "__main__":
    main()

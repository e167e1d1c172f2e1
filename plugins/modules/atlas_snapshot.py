#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_snapshot
short_description: Take or delete on-demand cloud backup snapshots of a MongoDB Atlas cluster
version_added: 0.1.0
description:
  - O(state=present) takes an on-demand snapshot with O(description) and O(retention_days) and waits until it
    is C(completed).
  - The snapshot is known by its O(description). When an on-demand snapshot with that description exists
    (queued, in progress or completed), nothing is taken and that snapshot is returned (and waited for).
    So give a description that names the moment, for example C(pre-restore 2025-11-03T02:00Z).
  - Atlas runs one on-demand snapshot of a cluster at a time and refuses a second while one is running. When
    one is running, the module attaches to it (waits for it and returns it, with RV(attached=true)) instead of
    asking for another; the snapshot it returns then has that snapshot's description.
  - When the answer to the request that takes the snapshot is lost (a broken connection, a timeout, a server
    error), the module looks for the snapshot that request took before it asks again.
  - O(state=absent) deletes the on-demand snapshots with O(description), or the one with O(snapshot_id).
options:
  cluster:
    description:
      - Name of the cluster.
    type: str
    required: true
  state:
    description:
      - V(present) takes the snapshot (or finds it), V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Description of the on-demand snapshot; what makes a re-run find the snapshot an earlier run took.
      - Required with O(state=present).
    type: str
  retention_days:
    description:
      - Days Atlas keeps the snapshot.
    type: int
    default: 1
  snapshot_id:
    description:
      - With O(state=absent), the id of the snapshot to delete.
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
  - module: appops.runbooks.atlas_snapshot_info
  - module: appops.runbooks.atlas_restore
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Snapshot micmap's cluster before a restore, kept for 7 days
  appops.runbooks.atlas_snapshot:
    project_id: "{{ atlas_project_id }}"
    cluster: micmap-cluster
    description: "pre-restore {{ run_started }}"
    retention_days: 7
  register: pre_restore
"""

RETURN = r"""
snapshot:
  description: The snapshot taken, found or attached to, as Atlas describes it (C(id), C(status), C(description),
    C(createdAt), C(expiresAt), ...), without links.
  returned: with O(state=present), except in check mode when a snapshot would be taken
  type: dict
  sample: {id: 6650a1b2c3d4e5f607182930, status: completed, description: pre-restore, snapshotType: onDemand}
attached:
  description: True when an on-demand snapshot already running was waited for instead of taking one.
  returned: with O(state=present)
  type: bool
deleted:
  description: Ids of the snapshots deleted.
  returned: with O(state=absent)
  type: list
  elements: str
"""

import time
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _lock
from ansible_collections.appops.runbooks.plugins.module_utils._http import ApiError
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.client import WAIT_ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import (
    parse_time,
    snapshot_running,
    wait_for_snapshot,
    without_links,
)
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule


def on_demand(snapshots: list[dict]) -> list[dict]:
    return [s for s in snapshots if s.get("snapshotType") == "onDemand"]


def with_description(snapshots: list[dict], description: str) -> dict | None:
    return next((s for s in on_demand(snapshots) if s.get("description") == description
                 and s.get("status") != "failed"), None)


def running_on_demand(snapshots: list[dict]) -> dict | None:
    return next((s for s in on_demand(snapshots) if snapshot_running(s)), None)


def settle(am: AtlasModule, snapshot: dict) -> dict:
    """Wait for the snapshot when asked to; fail when it failed."""
    cluster = am.params["cluster"]
    if am.params["wait"] and snapshot_running(snapshot):
        am.doing(f"waiting for snapshot {snapshot['id']}")
        snapshot = wait_for_snapshot(am.client, cluster, snapshot["id"], **am.wait_options())
    if snapshot.get("status") == "failed":
        am.fail(f"Atlas cluster {cluster!r}: snapshot {snapshot['id']} failed", snapshot=without_links(snapshot))
    return without_links(snapshot)


def take(am: AtlasModule) -> None:
    cluster, description = am.params["cluster"], am.params["description"]
    am.doing("listing snapshots")
    snapshots = am.client.snapshots(cluster)
    existing = with_description(snapshots, description)
    if existing is not None:
        am.exit(False, snapshot=settle(am, existing), attached=snapshot_running(existing))
    running = running_on_demand(snapshots)
    asked_at = time.time()

    def taken_since() -> dict | None:
        am.doing("looking for the snapshot a request whose answer was lost may have taken")
        found = with_description(am.client.snapshots(cluster), description)
        created = parse_time((found or {}).get("createdAt"))
        return found if found is not None and (created is None or created >= asked_at - 5) else None

    try:
        started = am.start(
            f"taking an on-demand snapshot of {cluster}",
            find_running=lambda: running,
            create=lambda: am.client.take_snapshot(cluster, description, am.params["retention_days"]),
            find_started=taken_since,
        )
    except ApiError as error:
        # Another run's on-demand snapshot started between the listing and the request: Atlas refuses
        # a second one, so attach to that one.
        if error.status not in (400, 409):
            raise
        running = running_on_demand(am.client.snapshots(cluster))
        if running is None:
            raise
        am.exit(False, snapshot=settle(am, running), attached=True)
    if started is None:
        am.exit(True, before=None, after={"description": description, "retentionInDays": am.params["retention_days"]},
                attached=False)
    snapshot = settle(am, started.job)
    if not started.started_here:
        am.exit(False, snapshot=snapshot, attached=True)
    am.exit(True, before=None, after={"description": description, "id": snapshot["id"]}, snapshot=snapshot,
            attached=False)


def delete(am: AtlasModule) -> None:
    cluster = am.params["cluster"]
    am.doing("listing snapshots")
    snapshots = am.client.snapshots(cluster)
    if am.params["snapshot_id"]:
        doomed = [s for s in snapshots if s.get("id") == am.params["snapshot_id"]]
    else:
        doomed = [s for s in on_demand(snapshots) if s.get("description") == am.params["description"]]
    if not doomed:
        am.exit(False, deleted=[])
    for snapshot in doomed:
        if snapshot_running(snapshot):
            am.fail(f"Atlas cluster {cluster!r}: snapshot {snapshot['id']} is {snapshot['status']} and cannot be "
                    "deleted until it finishes")
    for snapshot in doomed:
        am.write(f"deleting snapshot {snapshot['id']}", lambda s=snapshot: am.client.delete_snapshot(cluster, s["id"]),
                 None)
    ids = [s["id"] for s in doomed]
    am.exit(True, before={"snapshots": ids}, after={"snapshots": []}, deleted=ids)


def run(am: AtlasModule) -> None:
    if am.params["state"] == "present":
        take(am)
    else:
        delete(am)


def main() -> None:
    spec: dict[str, dict[str, t.Any]] = dict(
        cluster=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        retention_days=dict(type="int", default=1),
        snapshot_id=dict(type="str"),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    spec.update(_lock.HEARTBEAT_ARGUMENT_SPEC)
    am = AtlasModule(spec, required_if=[("state", "present", ["description"]),
                                        ("state", "absent", ["description", "snapshot_id"], True)])
    # The wait for a large cluster's snapshot can outlast the run's lock lease.
    with _lock.module_heartbeat(am.params, am.check_mode):
        am.run(run)


if __name__ == "__main__":
    main()

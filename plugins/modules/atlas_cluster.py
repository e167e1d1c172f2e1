#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_cluster
short_description: Instance size and compute auto-scaling of a MongoDB Atlas cluster
version_added: 0.1.0
description:
  - Sets the tier (O(instance_size), for example V(M10)) and the compute auto-scaling bounds of an existing
    Atlas cluster, and waits until the cluster is C(IDLE) again.
  - Reads the cluster first and sends a change only for what differs; a cluster that already has the
    desired size and bounds is left alone (when it is still C(UPDATING) from an earlier change, the module
    waits for it).
  - A free or shared-tier cluster (C(M0), C(M2), C(M5)) cannot be resized in place on Atlas; Atlas moves it
    to a dedicated tier only through its tenant upgrade, which cannot be undone and is billed as a dedicated
    cluster. With O(tenant_upgrade=true), asking such a cluster for a dedicated O(instance_size) starts that
    upgrade (one request, with the O(autoscaling) bounds in it) and waits until the cluster is C(IDLE); its
    data stays. Without it, the module fails saying so, before anything is sent.
  - A re-run while the upgrade is under way finds the cluster already reporting its dedicated tier and waits
    for it instead of starting another; a re-run after it finished changes nothing.
options:
  cluster:
    description:
      - Name of the cluster.
    type: str
    required: true
  instance_size:
    description:
      - The tier of the cluster's electable (and read-only, analytics) nodes, for example V(M10) or V(M30).
      - When not set, the tier is left as it is.
    type: str
  autoscaling:
    description:
      - Compute auto-scaling of the cluster; only the keys given are compared and set.
    type: dict
    suboptions:
      enabled:
        description: Whether Atlas may scale the tier up on its own.
        type: bool
      scale_down_enabled:
        description: Whether Atlas may also scale the tier down.
        type: bool
      min_instance_size:
        description: The smallest tier auto-scaling may go down to.
        type: str
      max_instance_size:
        description: The largest tier auto-scaling may go up to.
        type: str
  tenant_upgrade:
    description:
      - Whether a free or shared-tier cluster may be moved to the dedicated O(instance_size) (V(M10) and up)
        with Atlas's tenant upgrade. The upgrade cannot be undone and the cluster is billed as a dedicated one
        from then on, so it is never started without this.
      - Has no effect on a cluster that is already dedicated, or when O(instance_size) is its current tier.
    type: bool
    default: false
    version_added: 0.2.0
extends_documentation_fragment:
  - appops.runbooks.atlas
  - appops.runbooks.api_retry
  - appops.runbooks.atlas.WAIT
  - appops.runbooks.atlas.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
seealso:
  - module: appops.runbooks.atlas_cluster_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Scale fixzit's cluster to M40 and let Atlas scale between M30 and M60
  appops.runbooks.atlas_cluster:
    project_id: "{{ atlas_project_id }}"
    cluster: fixzit-cluster
    instance_size: M40
    autoscaling:
      enabled: true
      scale_down_enabled: true
      min_instance_size: M30
      max_instance_size: M60

- name: Move micmap's free M0 cluster to a dedicated M10 (irreversible, billed), auto-scaling up to M30
  appops.runbooks.atlas_cluster:
    project_id: "{{ atlas_project_id }}"
    cluster: micmap-cluster
    instance_size: M10
    tenant_upgrade: true
    autoscaling:
      enabled: true
      scale_down_enabled: true
      min_instance_size: M10
      max_instance_size: M30
"""

RETURN = r"""
cluster:
  description: The cluster after the change (and the wait).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the cluster.
      type: str
    state_name:
      description: C(IDLE), C(UPDATING), ... as Atlas reports it.
      type: str
    instance_size:
      description: The tier of the electable nodes.
      type: str
    tenant:
      description: Whether it is a free or shared-tier cluster.
      type: bool
    autoscaling:
      description: Compute auto-scaling (C(enabled), C(scale_down_enabled), C(min_instance_size), C(max_instance_size)).
      type: dict
    connection_string:
      description: The standard connection string (no credentials).
      type: str
  sample: {name: fixzit-cluster, state_name: IDLE, instance_size: M40, tenant: false,
           autoscaling: {enabled: true, scale_down_enabled: true, min_instance_size: M30, max_instance_size: M60}}
tenant_upgrade:
  description:
    - Whether this run started the tenant upgrade of a free or shared-tier cluster (in check mode, whether it
      would). False when the cluster was already dedicated, also while an upgrade started earlier was waited for.
  returned: always
  type: bool
  version_added: 0.2.0
"""

import copy
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._atlas.client import WAIT_ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import (
    AUTOSCALING_FIELDS,
    TENANT_SIZES,
    cluster_view,
    is_tenant,
    region_configs,
    wait_for_cluster_idle,
)
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule

NODE_SPECS = ("electableSpecs", "readOnlySpecs", "analyticsSpecs")
COMPARED = ("instance_size", "autoscaling")


def desired_view(current: dict, size: str | None, autoscaling: dict | None) -> dict:
    wanted = copy.deepcopy(current)
    if size:
        wanted["instance_size"] = size
    for option, value in (autoscaling or {}).items():
        if value is not None:
            wanted["autoscaling"][option] = value
    return wanted


def patched_specs(cluster: dict, size: str | None, autoscaling: dict | None) -> list[dict]:
    """The cluster's replicationSpecs with the new tier and bounds in every region (Atlas wants them whole)."""
    specs = copy.deepcopy(cluster.get("replicationSpecs") or [])
    compute = {AUTOSCALING_FIELDS[k]: v for k, v in (autoscaling or {}).items() if v is not None}
    for spec in specs:
        for region in spec.get("regionConfigs") or []:
            for node_spec in NODE_SPECS:
                if size and isinstance(region.get(node_spec), dict) and "instanceSize" in region[node_spec]:
                    region[node_spec]["instanceSize"] = size
            if compute:
                scaling = region.setdefault("autoScaling", {})
                scaling["compute"] = {**(scaling.get("compute") or {}), **compute}
    return specs


def upgrade_body(cluster: dict, size: str, autoscaling: dict | None) -> dict:
    """The tenant upgrade request (2023-01-01): the dedicated tier on the cloud and region the tenant runs on.

    The legacy shape splits compute auto-scaling: the flags under ``autoScaling.compute``, the
    bounds under ``providerSettings.autoScaling.compute``.
    """
    region = (region_configs(cluster) or [{}])[0]
    settings: dict[str, t.Any] = {"providerName": region.get("backingProviderName") or "AWS", "instanceSizeName": size}
    if region.get("regionName"):
        settings["regionName"] = region["regionName"]
    compute = {AUTOSCALING_FIELDS[k]: v for k, v in (autoscaling or {}).items() if v is not None}
    bounds = {k: compute.pop(k) for k in ("minInstanceSize", "maxInstanceSize") if k in compute}
    body: dict[str, t.Any] = {"name": cluster["name"], "providerSettings": settings}
    if bounds:
        settings["autoScaling"] = {"compute": bounds}
    if compute:
        body["autoScaling"] = {"compute": compute}
    return body


def refuse_tenant_change(am: AtlasModule, before: dict, wanted: dict) -> None:
    """Fail before anything is sent, unless this is an opted-in upgrade to a dedicated tier."""
    name, size = before["name"], wanted["instance_size"]
    if size == before["instance_size"] or size in TENANT_SIZES:
        am.fail(f"Atlas cluster {name!r} is a free or shared-tier {before['instance_size']} cluster: Atlas cannot "
                f"scale it in place (to {size}) or give it compute auto-scaling. Ask for a dedicated "
                "instance_size (M10 and up) with tenant_upgrade: true to move it with Atlas's tenant upgrade.",
                cluster=before, tenant_upgrade=False)
    if not am.params["tenant_upgrade"]:
        am.fail(f"Atlas cluster {name!r} is a free or shared-tier {before['instance_size']} cluster: Atlas cannot "
                f"scale it in place to {size}; it moves to a dedicated tier only with its tenant upgrade, which "
                "cannot be undone and is billed as a dedicated cluster. Set tenant_upgrade: true to start it.",
                cluster=before, tenant_upgrade=False)


def upgrade_tenant(am: AtlasModule, cluster: dict, before: dict, wanted: dict) -> t.NoReturn:
    """Start the tenant upgrade once (a lost answer is looked for, not repeated) and wait for IDLE."""
    name = before["name"]
    refuse_tenant_change(am, before, wanted)

    def started_upgrade() -> dict | None:
        current = am.client.cluster(name)
        return None if is_tenant(current) else current

    body = upgrade_body(cluster, wanted["instance_size"], am.params["autoscaling"])
    # Nothing is in flight: an upgrade under way already shows the dedicated tier (the unchanged path).
    started = am.start(f"starting the tenant upgrade of cluster {name} to {wanted['instance_size']}",
                       find_running=lambda: None, create=lambda: am.client.upgrade_tenant_cluster(body),
                       find_started=started_upgrade)
    after = dict(wanted, tenant=False, state_name="UPDATING")
    if started is not None:
        # The answer is the 2023-01-01 cluster; the view reads the 2024-08-05 one.
        am.doing(f"waiting for cluster {name} to become IDLE")
        after = cluster_view(wait_for_cluster_idle(am.client, name, **am.wait_options()) if am.params["wait"]
                             else am.client.cluster(name))
    shown = COMPARED + ("tenant",)
    am.exit(True, before={k: before[k] for k in shown}, after={k: after[k] for k in shown}, cluster=after,
            tenant_upgrade=True)


def run(am: AtlasModule) -> None:
    name = am.params["cluster"]
    size = am.params["instance_size"]
    autoscaling = am.params["autoscaling"]
    am.doing("reading the cluster")
    cluster = am.client.cluster(name)
    before = cluster_view(cluster)
    wanted = desired_view(before, size, autoscaling)
    if all(before[key] == wanted[key] for key in COMPARED):
        if am.params["wait"] and before["state_name"] != "IDLE" and not am.check_mode:
            am.doing(f"waiting for cluster {name} to become IDLE")
            before = cluster_view(wait_for_cluster_idle(am.client, name, **am.wait_options()))
        am.exit(False, cluster=before, tenant_upgrade=False)
    if before["tenant"]:
        upgrade_tenant(am, cluster, before, wanted)
    predicted = dict(wanted, state_name="UPDATING")
    changed = am.write(f"changing the tier or auto-scaling of cluster {name}",
                       lambda: am.client.update_cluster(name, {"replicationSpecs": patched_specs(cluster, size,
                                                                                                 autoscaling)}),
                       predicted=None)
    after = predicted if changed is None else cluster_view(changed)
    if am.params["wait"] and not am.check_mode:
        am.doing(f"waiting for cluster {name} to become IDLE")
        after = cluster_view(wait_for_cluster_idle(am.client, name, **am.wait_options()))
    am.exit(True, before={k: before[k] for k in COMPARED}, after={k: after[k] for k in COMPARED}, cluster=after,
            tenant_upgrade=False)


def main() -> None:
    spec: dict[str, dict[str, t.Any]] = dict(
        cluster=dict(type="str", required=True),
        instance_size=dict(type="str"),
        autoscaling=dict(type="dict", options=dict(
            enabled=dict(type="bool"),
            scale_down_enabled=dict(type="bool"),
            min_instance_size=dict(type="str"),
            max_instance_size=dict(type="str"),
        )),
        tenant_upgrade=dict(type="bool", default=False),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    AtlasModule(spec).run(run)


if __name__ == "__main__":
    main()

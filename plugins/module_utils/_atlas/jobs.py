# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Atlas clusters, snapshots and restore jobs: states, times and waiting (private)."""

from __future__ import annotations

import datetime as dt
import typing as t

from .._http import wait_for
from .client import AtlasClient

SNAPSHOT_RUNNING = frozenset({"queued", "inProgress"})
TENANT_PROVIDER = "TENANT"
TENANT_SIZES = frozenset({"M0", "M2", "M5"})


def parse_time(value: t.Any) -> float | None:
    """Epoch seconds from an Atlas ISO 8601 time (``2025-01-02T03:04:05Z``), an epoch number, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def iso_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- clusters -------------------------------------------------------------------------------

def region_configs(cluster: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    return [region for spec in cluster.get("replicationSpecs") or [] for region in spec.get("regionConfigs") or []]


def instance_size(cluster: dict[str, t.Any]) -> str | None:
    for region in region_configs(cluster):
        size = (region.get("electableSpecs") or {}).get("instanceSize")
        if size:
            return str(size)
    return None


def is_tenant(cluster: dict[str, t.Any]) -> bool:
    """A free or shared-tier cluster (M0, M2, M5): Atlas cannot resize it in place."""
    return any(region.get("providerName") == TENANT_PROVIDER for region in region_configs(cluster)) or (
        instance_size(cluster) in TENANT_SIZES)


def compute_autoscaling(cluster: dict[str, t.Any]) -> dict[str, t.Any]:
    for region in region_configs(cluster):
        compute = (region.get("autoScaling") or {}).get("compute")
        if compute is not None:
            return dict(compute)
    return {}


# Module option -> Atlas field of autoScaling.compute.
AUTOSCALING_FIELDS = {"enabled": "enabled", "scale_down_enabled": "scaleDownEnabled",
                      "min_instance_size": "minInstanceSize", "max_instance_size": "maxInstanceSize"}


def cluster_view(cluster: dict) -> dict:
    compute = compute_autoscaling(cluster)
    return {
        "name": cluster.get("name"),
        "state_name": cluster.get("stateName"),
        "instance_size": instance_size(cluster),
        "tenant": is_tenant(cluster),
        "autoscaling": {option: compute.get(field) for option, field in AUTOSCALING_FIELDS.items()},
        "connection_string": (cluster.get("connectionStrings") or {}).get("standard"),
    }


def wait_for_cluster_idle(client: AtlasClient, name: str, *, timeout: float, interval: float) -> dict[str, t.Any]:
    return wait_for(lambda: client.cluster(name), lambda c: c.get("stateName") == "IDLE",
                    timeout=timeout, interval=interval, what=f"cluster {name} to become IDLE")


# -- snapshots ------------------------------------------------------------------------------

def snapshot_running(snapshot: dict[str, t.Any]) -> bool:
    return snapshot.get("status") in SNAPSHOT_RUNNING


def wait_for_snapshot(client: AtlasClient, cluster: str, snapshot_id: str, *, timeout: float,
                      interval: float) -> dict[str, t.Any]:
    return wait_for(lambda: client.snapshot(cluster, snapshot_id), lambda s: not snapshot_running(s),
                    timeout=timeout, interval=interval, what=f"snapshot {snapshot_id} of {cluster}")


# -- restore jobs ---------------------------------------------------------------------------

def restore_status(job: dict[str, t.Any]) -> str:
    """``running``, ``finished``, ``failed``, ``cancelled`` or ``expired`` (Atlas keeps them as flags)."""
    for flag in ("failed", "cancelled", "expired"):
        if job.get(flag):
            return flag
    return "finished" if job.get("finishedAt") else "running"


def restore_in_flight(job: dict[str, t.Any]) -> bool:
    return restore_status(job) == "running"


def describe_restore(job: dict[str, t.Any]) -> dict[str, t.Any]:
    """A restore job as modules return it: the API fields (no links, no download URLs) plus ``status``."""
    described = {k: v for k, v in job.items() if k not in ("links", "deliveryUrl")}
    described["status"] = restore_status(job)
    return described


def wait_for_restore(client: AtlasClient, cluster: str, job_id: str, *, timeout: float,
                     interval: float) -> dict[str, t.Any]:
    return wait_for(lambda: client.restore_job(cluster, job_id), lambda j: not restore_in_flight(j),
                    timeout=timeout, interval=interval, what=f"restore job {job_id}")


def without_links(document: dict[str, t.Any]) -> dict[str, t.Any]:
    return {k: v for k, v in document.items() if k != "links"}

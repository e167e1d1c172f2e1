"""The Atlas Admin API v2 routes the lab serves, each with the media-type versions the spec gives it."""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import quote

from . import HOST, api_url
from .httpcore import ApiError, Request, Response, Router
from .lab import TENANT_TIERS, Lab, entry_value, iso, new_id, next_scheduled, parse_iso

V1 = ("2023-01-01",)
CLUSTER_GET = ("2023-01-01", "2023-02-01", "2024-08-05")
CLUSTER_PATCH = ("2023-01-01", "2023-02-01", "2024-08-05", "2024-10-23")
SCHEDULE = ("2023-01-01", "2024-08-05")
G = "/api/atlas/v2/groups/{groupId}"
C = G + "/clusters/{clusterName}"
MAX_ACCESS_WINDOW = 7 * 86400  # Atlas keeps a temporary entry at most a week


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop the emulator's bookkeeping (keys starting with ``_``) and unset (None) fields."""
    return {k: v for k, v in doc.items() if not k.startswith("_") and v is not None}


def link(path: str, rel: str = "self") -> dict[str, str]:
    return {"href": f"{api_url()}{path}", "rel": rel}


def paginate(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    per_page = request.int_arg("itemsPerPage", 100)
    page = request.int_arg("pageNum", 1)
    if not 1 <= per_page <= 500:
        raise ApiError(400, "INVALID_QUERY_PARAMETER", "Invalid query parameter itemsPerPage specified: must be "
                                                       "between 1 and 500.", parameters=["itemsPerPage"])
    if page < 1:
        raise ApiError(400, "INVALID_QUERY_PARAMETER", "Invalid query parameter pageNum specified.",
                       parameters=["pageNum"])
    start = (page - 1) * per_page
    body: dict[str, Any] = {"results": items[start:start + per_page]}
    links = [link(f"{request.path}?pageNum={page}&itemsPerPage={per_page}")]
    if page > 1:
        links.append(link(f"{request.path}?pageNum={page - 1}&itemsPerPage={per_page}", "previous"))
    if start + per_page < len(items):
        links.append(link(f"{request.path}?pageNum={page + 1}&itemsPerPage={per_page}", "next"))
    body["links"] = links
    if request.flag("includeCount", True):
        body["totalCount"] = len(items)
    return body


class AtlasApi:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/api/atlas/v2/groups", self.list_groups, V1)
        add("GET", G, self.get_group, V1)
        add("GET", G + "/clusters", self.list_clusters, CLUSTER_GET)
        add("GET", C, self.get_cluster, CLUSTER_GET)
        add("PATCH", C, self.update_cluster, CLUSTER_PATCH)
        add("POST", G + "/clusters/tenantUpgrade", self.tenant_upgrade, V1)
        add("GET", C + "/backup/snapshots", self.list_snapshots, V1)
        add("POST", C + "/backup/snapshots", self.take_snapshot, V1)
        add("GET", C + "/backup/snapshots/{snapshotId}", self.get_snapshot, V1)
        add("DELETE", C + "/backup/snapshots/{snapshotId}", self.delete_snapshot, V1)
        add("GET", C + "/backup/restoreJobs", self.list_restores, V1)
        add("POST", C + "/backup/restoreJobs", self.create_restore, V1)
        add("GET", C + "/backup/restoreJobs/{restoreJobId}", self.get_restore, V1)
        add("DELETE", C + "/backup/restoreJobs/{restoreJobId}", self.cancel_restore, V1)
        add("GET", C + "/backup/schedule", self.get_schedule, SCHEDULE)
        add("PATCH", C + "/backup/schedule", self.update_schedule, SCHEDULE)
        add("GET", G + "/accessList", self.list_access, V1)
        add("POST", G + "/accessList", self.add_access, V1)
        add("GET", G + "/accessList/{entryValue}", self.get_access, V1)
        add("DELETE", G + "/accessList/{entryValue}", self.delete_access, V1)
        add("GET", G + "/accessList/{entryValue}/status", self.access_status, V1)

    # ---- groups -----------------------------------------------------------------------------
    def render_group(self, group: dict[str, Any]) -> dict[str, Any]:
        count = len(self.lab.store.list("cluster", parent=group["id"]))
        return {**public(group), "clusterCount": count, "links": [link(f"/api/atlas/v2/groups/{group['id']}")]}

    def list_groups(self, request: Request) -> Response:
        return Response(200, paginate(request, [self.render_group(g) for g in self.lab.store.list("group")]))

    def get_group(self, request: Request) -> Response:
        return Response(200, self.render_group(self.lab.group(request.params["groupId"])))

    # ---- clusters ---------------------------------------------------------------------------
    def render_cluster(self, cluster: dict[str, Any], version: str) -> dict[str, Any]:
        tenant = cluster["instanceSize"] in TENANT_TIERS
        compute = cluster["compute"]
        # An empty cluster (no server behind it) gets a host that resolves nowhere.
        uri = f"mongodb://{HOST}:{cluster['_port']}" if cluster["_port"] else f"mongodb://{cluster['name']}.lab.invalid"
        common = {"id": cluster["id"], "name": cluster["name"], "groupId": cluster["groupId"],
                  "createDate": cluster["createDate"], "clusterType": "REPLICASET", "stateName": cluster["stateName"],
                  "paused": cluster["paused"], "pitEnabled": cluster["pitEnabled"], "backupEnabled": False,
                  "mongoDBVersion": cluster["mongoDBVersion"], "mongoDBMajorVersion": "7.0",
                  "versionReleaseSystem": "LTS", "encryptionAtRestProvider": "NONE", "rootCertType": "ISRGROOTX1",
                  "terminationProtectionEnabled": False, "tags": [], "labels": [],
                  "connectionStrings": {"standard": uri, "standardSrv": uri},
                  "links": [link(f"/api/atlas/v2/groups/{cluster['groupId']}/clusters/{cluster['name']}")]}
        if version == "2023-01-01":
            settings: dict[str, Any] = {"providerName": cluster["providerName"], "regionName": cluster["regionName"],
                                        "instanceSizeName": cluster["instanceSize"]}
            if tenant:
                settings["backingProviderName"] = cluster["backingProviderName"]
            else:
                settings["autoScaling"] = {"compute": {k: compute[k] for k in ("minInstanceSize", "maxInstanceSize")
                                                       if k in compute}}
            sized = {} if tenant else {"diskSizeGB": cluster["diskSizeGB"]}  # not settable on a tenant
            return {**common, "providerSettings": settings, **sized,
                    "providerBackupEnabled": not tenant, "numShards": 1, "replicationFactor": 3,
                    "autoScaling": {"compute": {"enabled": compute.get("enabled", False),
                                                "scaleDownEnabled": compute.get("scaleDownEnabled", False)},
                                    "diskGBEnabled": cluster["diskAutoScaling"]},
                    "mongoURI": uri, "mongoURIWithOptions": uri, "srvAddress": uri}
        region: dict[str, Any] = {"providerName": cluster["providerName"], "regionName": cluster["regionName"],
                                  "priority": 7}
        specs = {"instanceSize": cluster["instanceSize"]}
        if tenant:
            region["backingProviderName"] = cluster["backingProviderName"]
        else:
            specs.update(nodeCount=cluster["nodeCount"], diskSizeGB=cluster["diskSizeGB"])
            region["autoScaling"] = {"compute": dict(compute), "diskGB": {"enabled": cluster["diskAutoScaling"]}}
            region["readOnlySpecs"] = {"instanceSize": cluster["instanceSize"], "nodeCount": 0}
        region["electableSpecs"] = specs
        replication = {"id": cluster["id"][:-4] + "0001", "zoneName": "Zone 1", "regionConfigs": [region]}
        if version == "2023-02-01":
            replication["numShards"] = 1
            sized = {} if tenant else {"diskSizeGB": cluster["diskSizeGB"]}
            return {**common, **sized, "replicationSpecs": [replication]}
        replication["zoneId"] = cluster["id"][:-4] + "0002"
        return {**common, "replicationSpecs": [replication]}

    def list_clusters(self, request: Request) -> Response:
        group = self.lab.group(request.params["groupId"])
        clusters = self.lab.store.list("cluster", parent=group["id"])
        return Response(200, paginate(request, [self.render_cluster(c, request.version or "2023-01-01")
                                                for c in clusters]))

    def get_cluster(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        return Response(200, self.render_cluster(cluster, request.version or "2023-01-01"))

    @staticmethod
    def requested_changes(body: dict[str, Any]) -> dict[str, Any]:
        """The tier, autoscaling and flags a PATCH asks for, from either the legacy or the advanced shape."""
        changes: dict[str, Any] = {k: body[k] for k in ("paused", "pitEnabled", "diskSizeGB") if k in body}
        settings = body.get("providerSettings") or {}
        if "instanceSizeName" in settings:
            changes["instanceSize"] = settings["instanceSizeName"]
        compute: dict[str, Any] = {}
        compute.update({k: v for k, v in ((settings.get("autoScaling") or {}).get("compute") or {}).items()})
        compute.update({k: v for k, v in ((body.get("autoScaling") or {}).get("compute") or {}).items()})
        for spec in body.get("replicationSpecs") or []:
            for region in spec.get("regionConfigs") or []:
                size = (region.get("electableSpecs") or {}).get("instanceSize")
                if size:
                    changes["instanceSize"] = size
                compute.update((region.get("autoScaling") or {}).get("compute") or {})
                disk = (region.get("autoScaling") or {}).get("diskGB")
                if disk and "enabled" in disk:
                    changes["diskAutoScaling"] = disk["enabled"]
        if compute:
            changes["compute"] = compute
        return changes

    def update_cluster(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        body = request.json()
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", "Received JSON is malformed.")
        with self.lab.lock:
            updated = self.lab.change_cluster(cluster, self.requested_changes(body))
        return Response(200, self.render_cluster(updated, request.version or "2023-01-01"))

    @staticmethod
    def upgrade_request(body: Any) -> dict[str, Any]:
        """What a LegacyAtlasTenantClusterUpgradeRequest asks for: name, tier, provider, region, compute bounds."""
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", "Received JSON is malformed.")
        if not body.get("name"):
            raise ApiError(400, "MISSING_ATTRIBUTE", "The required attribute name was not specified.",
                           parameters=["name"])
        settings = body.get("providerSettings") or {}
        for key in ("providerName", "instanceSizeName"):
            if not settings.get(key):
                raise ApiError(400, "MISSING_ATTRIBUTE", f"The required attribute providerSettings.{key} was not "
                                                         "specified.", parameters=[f"providerSettings.{key}"])
        bounds = (settings.get("autoScaling") or {}).get("compute") or {}
        flags = (body.get("autoScaling") or {}).get("compute") or {}
        compute = {**{k: bounds[k] for k in ("minInstanceSize", "maxInstanceSize") if k in bounds},
                   **{k: flags[k] for k in ("enabled", "scaleDownEnabled") if k in flags}}
        return {"name": str(body["name"]), "tier": settings["instanceSizeName"], "provider": settings["providerName"],
                "region": settings.get("regionName"), "compute": compute}

    def tenant_upgrade(self, request: Request) -> Response:
        wanted = self.upgrade_request(request.json())
        # Under the lab's lock: of two upgrades sent at once, the second finds a dedicated cluster.
        with self.lab.lock:
            updated = self.lab.tenant_upgrade(self.lab.cluster(request.params["groupId"], wanted["name"]), wanted)
        return Response(200, self.render_cluster(updated, "2023-01-01"))

    # ---- snapshots --------------------------------------------------------------------------
    def render_snapshot(self, snap: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/atlas/v2/groups/{snap['_groupId']}/clusters/{snap['_cluster']}/backup/snapshots/{snap['id']}"
        return {**public(snap), "links": [link(path)]}

    def list_snapshots(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        snaps = sorted(self.lab.snapshots(cluster), key=lambda s: s["_capturedAt"], reverse=True)
        return Response(200, paginate(request, [self.render_snapshot(s) for s in snaps]))

    def take_snapshot(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        body = request.json()
        retention = body.get("retentionInDays", 1)
        if not isinstance(retention, int) or retention < 1:
            raise ApiError(400, "INVALID_ATTRIBUTE", "Invalid attribute retentionInDays specified.",
                           parameters=["retentionInDays"])
        snap = self.lab.take_snapshot(cluster, "onDemand", str(body.get("description", "")), retention)
        return Response(200, self.render_snapshot(snap))

    def get_snapshot(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        return Response(200, self.render_snapshot(self.lab.snapshot(cluster, request.params["snapshotId"])))

    def delete_snapshot(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        with self.lab.lock:
            self.lab.delete_snapshot(self.lab.snapshot(cluster, request.params["snapshotId"]))
        return Response(204, None)

    # ---- restore jobs -----------------------------------------------------------------------
    def render_restore(self, job: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/atlas/v2/groups/{job['_groupId']}/clusters/{job['_cluster']}/backup/restoreJobs/{job['id']}"
        return {**public(job), "links": [link(path)]}

    def restore_job(self, request: Request) -> dict[str, Any]:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        job = self.lab.store.get("restore", request.params["restoreJobId"])
        if job is None or job["_clusterId"] != cluster["id"]:
            raise ApiError(404, "RESTORE_JOB_NOT_FOUND", f"No restore job with ID {request.params['restoreJobId']} "
                                                         f"exists.", parameters=[request.params["restoreJobId"]])
        return job

    def list_restores(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        jobs = list(reversed(self.lab.store.list("restore", parent=cluster["id"])))
        return Response(200, paginate(request, [self.render_restore(j) for j in jobs]))

    def create_restore(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        body = request.json()
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", "Received JSON is malformed.")
        with self.lab.lock:
            job = self.lab.create_restore(cluster, body)
        return Response(200, self.render_restore(job))

    def get_restore(self, request: Request) -> Response:
        return Response(200, self.render_restore(self.restore_job(request)))

    def cancel_restore(self, request: Request) -> Response:
        self.lab.cancel_restore(self.restore_job(request))
        return Response(204, None)

    # ---- backup schedule --------------------------------------------------------------------
    def render_schedule(self, cluster: dict[str, Any]) -> dict[str, Any]:
        schedule = cluster["_schedule"]
        path = f"/api/atlas/v2/groups/{cluster['groupId']}/clusters/{cluster['name']}/backup/schedule"
        body = {**public(schedule), "clusterId": cluster["id"], "clusterName": cluster["name"],
                "copySettings": [], "links": [link(path)]}
        if schedule.get("_next"):
            body["nextSnapshot"] = iso(schedule["_next"])
        return body

    def get_schedule(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        return Response(200, self.render_schedule(cluster))

    def update_schedule(self, request: Request) -> Response:
        cluster = self.lab.cluster(request.params["groupId"], request.params["clusterName"])
        body = request.json()
        with self.lab.lock:
            schedule = dict(cluster["_schedule"])
            for key in ("referenceHourOfDay", "referenceMinuteOfHour", "restoreWindowDays", "autoExportEnabled",
                        "useOrgAndGroupNamesInExportPrefix"):
                if key in body:
                    schedule[key] = body[key]
            if not 0 <= int(schedule["referenceHourOfDay"]) <= 23 or not 0 <= int(schedule["referenceMinuteOfHour"]) <= 59:
                raise ApiError(400, "INVALID_ATTRIBUTE", "Invalid reference hour or minute.")
            if "policies" in body:
                schedule["policies"] = [self.valid_policy(policy) for policy in body["policies"]]
            upcoming = next_scheduled(schedule, time.time())
            schedule["_next"] = upcoming[0] if upcoming else None
            cluster["_schedule"] = schedule
            self.lab.save_cluster(cluster)
        return Response(200, self.render_schedule(cluster))

    @staticmethod
    def valid_policy(policy: dict[str, Any]) -> dict[str, Any]:
        items = []
        for item in policy.get("policyItems") or []:
            frequency = item.get("frequencyType")
            if frequency not in ("hourly", "daily", "weekly", "monthly", "yearly"):
                raise ApiError(400, "INVALID_ENUM_VALUE", f"An invalid enumeration value {frequency} was specified.",
                               parameters=[frequency, "frequencyType"])
            if item.get("retentionUnit") not in ("days", "weeks", "months", "years"):
                raise ApiError(400, "INVALID_ENUM_VALUE", "An invalid enumeration value for retentionUnit.",
                               parameters=[item.get("retentionUnit"), "retentionUnit"])
            if frequency == "hourly" and item.get("frequencyInterval") not in (1, 2, 4, 6, 8, 12):
                raise ApiError(400, "INVALID_ATTRIBUTE", "Invalid hourly frequencyInterval.",
                               parameters=["frequencyInterval"])
            items.append({"id": item.get("id") or new_id(), "frequencyType": frequency,
                          "frequencyInterval": int(item.get("frequencyInterval", 1)),
                          "retentionUnit": item["retentionUnit"], "retentionValue": int(item.get("retentionValue", 1))})
        return {"id": policy.get("id") or new_id(), "policyItems": items}

    # ---- access list ------------------------------------------------------------------------
    def render_access(self, entry: dict[str, Any]) -> dict[str, Any]:
        value = quote(entry_value(entry), safe="")
        return {**public(entry), "links": [link(f"/api/atlas/v2/groups/{entry['groupId']}/accessList/{value}")]}

    def list_access(self, request: Request) -> Response:
        group = self.lab.group(request.params["groupId"])
        return Response(200, paginate(request, [self.render_access(e) for e in self.lab.access_entries(group["id"])]))

    def add_access(self, request: Request) -> Response:
        group = self.lab.group(request.params["groupId"])
        body = request.json()
        if not isinstance(body, list):
            raise ApiError(400, "INVALID_JSON", "The access list takes an array of entries.")
        now = time.time()
        entries = [self.valid_access_entry(group["id"], item, now) for item in body]
        with self.lab.lock:
            for entry in entries:
                self.lab.store.put("access", f"{group['id']}:{entry_value(entry)}", entry, parent=group["id"])
        return Response(200, paginate(request, [self.render_access(e) for e in self.lab.access_entries(group["id"])]))

    def valid_access_entry(self, group_id: str, item: dict[str, Any], now: float) -> dict[str, Any]:
        entry: dict[str, Any] = {"groupId": group_id, "comment": item.get("comment", ""),
                                 "_activeAt": now + self.lab.knobs["access_pending_seconds"]}
        try:
            if item.get("ipAddress"):
                entry["ipAddress"] = str(ipaddress.ip_address(item["ipAddress"]))
                entry["cidrBlock"] = f"{entry['ipAddress']}/32"
            elif item.get("cidrBlock"):
                entry["cidrBlock"] = str(ipaddress.ip_network(item["cidrBlock"], strict=True))
            else:
                raise ApiError(400, "INVALID_ATTRIBUTE", "Specify cidrBlock or ipAddress.", parameters=["cidrBlock"])
        except ValueError:
            raise ApiError(400, "INVALID_IP_ADDRESS_OR_CIDR_NOTATION",
                           f"The address {item.get('ipAddress') or item.get('cidrBlock')} must be in valid IP address "
                           "or CIDR notation.", parameters=[item.get("ipAddress") or item.get("cidrBlock")]) from None
        if item.get("deleteAfterDate"):
            expiry = parse_iso(item["deleteAfterDate"])
            if expiry <= now or expiry > now + MAX_ACCESS_WINDOW:
                raise ApiError(400, "INVALID_DELETE_AFTER_DATE", "The deleteAfterDate must be in the future and no "
                                                                 "more than one week away.",
                               parameters=[item["deleteAfterDate"]])
            entry["deleteAfterDate"] = iso(expiry)
        return entry

    def access_entry(self, request: Request) -> dict[str, Any]:
        group = self.lab.group(request.params["groupId"])
        value = request.params["entryValue"]
        for entry in self.lab.access_entries(group["id"]):
            if value in (entry.get("ipAddress"), entry["cidrBlock"]):
                return entry
        raise ApiError(404, "ATLAS_NETWORK_PERMISSION_ENTRY_NOT_FOUND",
                       f"IP address {value} not on Atlas access list for group {group['id']}.",
                       parameters=[value, group["id"]])

    def get_access(self, request: Request) -> Response:
        return Response(200, self.render_access(self.access_entry(request)))

    def delete_access(self, request: Request) -> Response:
        entry = self.access_entry(request)
        self.lab.store.delete("access", f"{entry['groupId']}:{entry_value(entry)}")
        return Response(204, None)

    def access_status(self, request: Request) -> Response:
        entry = self.access_entry(request)
        return Response(200, {"STATUS": "ACTIVE" if time.time() >= entry["_activeAt"] else "PENDING"})

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""atlas_cluster's tenant upgrade where the lab cannot go: an answer lost after Atlas started it.

The emulator answers every request it acts on, so these run the module in-process against a
scripted Admin API (a real HTTP server) whose tenantUpgrade answer is a 503 although the upgrade
started: the module must find it and not send a second one.
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.modules import atlas_cluster
from ansible_collections.appops.runbooks.tests.unit.plugins.module_utils import test__http
from ansible_collections.appops.runbooks.tests.unit.plugins.module_utils.test__http import Scripted, ScriptedServer
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.appops_module_runner import run_module

server = test__http.server  # the scripted server's fixture

GROUP = "6650a0000000000000000002"
CLUSTER = f"/api/atlas/v2/groups/{GROUP}/clusters/micmap-cluster"
UPGRADE = f"/api/atlas/v2/groups/{GROUP}/clusters/tenantUpgrade"


def cluster(size: str, state: str = "IDLE") -> dict[str, t.Any]:
    """The cluster at 2024-08-05 as Atlas describes an M0 (TENANT on AWS) or a dedicated tier."""
    region: dict[str, t.Any] = {"providerName": "AWS", "regionName": "US_EAST_1",
                                "electableSpecs": {"instanceSize": size}}
    if size == "M0":
        region.update(providerName="TENANT", backingProviderName="AWS")
    return {"name": "micmap-cluster", "stateName": state, "replicationSpecs": [{"regionConfigs": [region]}]}


def args(server: ScriptedServer, **extra: t.Any) -> dict[str, t.Any]:
    return {"project_id": GROUP, "public_key": "pub", "private_key": "priv", "api_url": server.url,
            "cluster": "micmap-cluster", "instance_size": "M10", "poll_interval": 0.01, "retry_max_wait": 1, **extra}


def test_a_lost_upgrade_answer_is_looked_for_not_repeated(server: ScriptedServer) -> None:
    server.script("GET", CLUSTER, Scripted(200, cluster("M0")), Scripted(200, cluster("M10", "UPDATING")),
                  Scripted(200, cluster("M10")))
    server.script("POST", UPGRADE, Scripted(503, {"error": 503, "errorCode": "SERVICE_UNAVAILABLE"}))
    result = run_module(atlas_cluster, args(server, tenant_upgrade=True))
    assert result["changed"] and result["tenant_upgrade"], result
    assert result["cluster"]["instance_size"] == "M10" and result["cluster"]["state_name"] == "IDLE"
    assert len(server.requests_to("POST", UPGRADE)) == 1, "the upgrade it started was found, not asked for again"
    body = server.requests_to("POST", UPGRADE)[0]["body"]
    assert body == {"name": "micmap-cluster", "providerSettings": {
        "providerName": "AWS", "instanceSizeName": "M10", "regionName": "US_EAST_1"}}


def test_without_the_opt_in_nothing_is_sent(server: ScriptedServer) -> None:
    server.script("GET", CLUSTER, Scripted(200, cluster("M0")))
    result = run_module(atlas_cluster, args(server))
    assert result["failed"] and "tenant_upgrade: true" in result["msg"]
    assert server.requests_to("POST", UPGRADE) == [] and [r["method"] for r in server.log] == ["GET"]


def test_check_mode_predicts_the_upgrade_and_sends_nothing(server: ScriptedServer) -> None:
    server.script("GET", CLUSTER, Scripted(200, cluster("M0")))
    result = run_module(atlas_cluster, {**args(server, tenant_upgrade=True), "_ansible_diff": True}, check_mode=True)
    assert result["changed"] and result["tenant_upgrade"]
    assert result["diff"]["after"]["instance_size"] == "M10" and result["diff"]["after"]["tenant"] is False
    assert [r["method"] for r in server.log] == ["GET"]

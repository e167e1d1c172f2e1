# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Atlas client: versioned media types, pageNum pagination, credentials, restore job states."""

from __future__ import annotations

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._atlas.client import (
    AtlasClient,
    CredentialsError,
    PageNumPagination,
)
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import (
    cluster_view,
    parse_time,
    restore_status,
)
from ansible_collections.appops.runbooks.plugins.module_utils._http import RetryPolicy
from ansible_collections.appops.runbooks.tests.unit.plugins.module_utils import test__http
from ansible_collections.appops.runbooks.tests.unit.plugins.module_utils.test__http import Scripted, ScriptedServer

server = test__http.server  # the scripted server's fixture

GROUP = "6650a0000000000000000002"
BASE = f"/api/atlas/v2/groups/{GROUP}"


def client(server: ScriptedServer) -> AtlasClient:
    return AtlasClient(GROUP, public_key="pub", private_key="priv", api_url=server.url,
                       retry=RetryPolicy(sleep=lambda s: None))


def page(items: list[int], total: int) -> Scripted:
    return Scripted(200, {"results": [{"id": i} for i in items], "totalCount": total, "links": []})


def test_listings_follow_page_numbers_until_the_total(server):
    server.script("GET", f"{BASE}/accessList", page([1, 2], 5), page([3, 4], 5), page([5], 5))
    atlas = client(server)
    atlas_pages = PageNumPagination(2)
    items = atlas.http.paginate(f"{BASE}/accessList", atlas_pages, headers={"Accept": "x"})
    assert [i["id"] for i in items] == [1, 2, 3, 4, 5]
    queries = [r["query"] for r in server.requests_to("GET", f"{BASE}/accessList")]
    assert [q["pageNum"] for q in queries] == [["1"], ["2"], ["3"]]
    assert all(q["itemsPerPage"] == ["2"] and q["includeCount"] == ["true"] for q in queries)


def test_each_resource_is_spoken_at_its_version(server):
    server.script("GET", f"{BASE}/clusters/c1", Scripted(200, {"name": "c1"}))
    server.script("PATCH", f"{BASE}/clusters/c1/backup/schedule", Scripted(200, {}))
    atlas = client(server)
    atlas.cluster("c1")
    atlas.update_backup_schedule("c1", {"referenceHourOfDay": 3})
    get = server.requests_to("GET", f"{BASE}/clusters/c1")[0]["headers"]
    patch = server.requests_to("PATCH", f"{BASE}/clusters/c1/backup/schedule")[0]["headers"]
    assert get["accept"] == "application/vnd.atlas.2024-08-05+json"
    assert patch["accept"] == patch["content-type"] == "application/vnd.atlas.2023-01-01+json"


@pytest.mark.parametrize("credentials", [{}, {"public_key": "p"}, {"client_id": "c"}, {"client_secret": "s"}])
def test_missing_or_half_credentials_are_refused(credentials):
    with pytest.raises(CredentialsError):
        AtlasClient(GROUP, api_url="http://127.0.0.1:9", **credentials)


def test_restore_status_and_times():
    assert restore_status({"finishedAt": "2025-01-01T00:00:00Z"}) == "finished"
    assert restore_status({"failed": True, "finishedAt": "2025-01-01T00:00:00Z"}) == "failed"
    assert restore_status({"cancelled": True}) == "cancelled"
    assert restore_status({}) == "running"
    assert parse_time("2025-01-01T00:00:00Z") == parse_time("1735689600") == 1735689600.0
    assert parse_time(None) is None


def test_a_tenant_cluster_is_recognised():
    tenant = {"name": "m", "stateName": "IDLE", "replicationSpecs": [{"regionConfigs": [
        {"providerName": "TENANT", "backingProviderName": "AWS", "electableSpecs": {"instanceSize": "M0"}}]}]}
    view = cluster_view(tenant)
    assert view["tenant"] and view["instance_size"] == "M0"

"""The Atlas emulator answers as the Admin API v2 spec says: every served operation's responses
validated against the spec's schema for that path, method, status and media-type version; an
unsupported version refused; Digest and OAuth both required and checked."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
from atlas_lab_helpers import (API, GROUP, GROUP_PATH, V1, V2024, Atlas, admin, oauth_token, operation,
                               validate_error, validate_request, validate_response, wait_until)

pytestmark = pytest.mark.integration

C = "/api/atlas/v2/groups/{groupId}/clusters/{clusterName}"
G = "/api/atlas/v2/groups/{groupId}"
FIXZIT = f"{GROUP_PATH}/clusters/fixzit-cluster"
MICMAP = f"{GROUP_PATH}/clusters/micmap-cluster"
RESTORE_TARGET = {"targetClusterName": "fixzit-cluster", "targetGroupId": GROUP}


def completed_snapshot(client: Atlas) -> str:
    taken = client.call("POST", f"{FIXZIT}/backup/snapshots", body={"description": "fidelity", "retentionInDays": 1})
    assert taken.status_code == 200, taken.text
    snapshot_id = taken.json()["id"]
    wait_until(lambda: client.get(f"{FIXZIT}/backup/snapshots/{snapshot_id}").json()["status"] == "completed")
    return snapshot_id


def finished_job(client: Atlas, body: dict) -> requests.Response:
    created = client.call("POST", f"{FIXZIT}/backup/restoreJobs", body=body)
    assert created.status_code == 200, created.text
    path = f"{FIXZIT}/backup/restoreJobs/{created.json()['id']}"
    wait_until(lambda: client.get(path).json().get("finishedAt"))
    return client.get(path)


def upgrade_body(name: str, tier: str, bounds: tuple[str, str] | None = None) -> dict:
    """A LegacyAtlasTenantClusterUpgradeRequest; with ``bounds``, compute auto-scaling between them."""
    settings: dict = {"providerName": "AWS", "instanceSizeName": tier, "regionName": "US_EAST_1"}
    body: dict = {"name": name, "providerSettings": settings}
    if bounds:
        settings["autoScaling"] = {"compute": {"minInstanceSize": bounds[0], "maxInstanceSize": bounds[1]}}
        body["autoScaling"] = {"compute": {"enabled": True, "scaleDownEnabled": True}}
    return body


# (method, spec path, what it does) -> the response to validate. Each served operation has cases.
Case = tuple[str, str, str, Callable[[Atlas], requests.Response]]
CASES: list[Case] = [
    ("GET", "/api/atlas/v2/groups", "list groups", lambda c: c.get("/api/atlas/v2/groups")),
    ("GET", G, "get group", lambda c: c.get(GROUP_PATH)),
    ("GET", G, "unknown group 404", lambda c: c.get("/api/atlas/v2/groups/000000000000000000000000")),
    ("GET", G + "/clusters", "list clusters 2024-08-05", lambda c: c.get(f"{GROUP_PATH}/clusters", V2024)),
    ("GET", G + "/clusters", "list clusters 2023-01-01", lambda c: c.get(f"{GROUP_PATH}/clusters")),
    ("GET", C, "get cluster 2023-01-01", lambda c: c.get(FIXZIT)),
    ("GET", C, "get cluster 2023-02-01", lambda c: c.get(FIXZIT, "application/vnd.atlas.2023-02-01+json")),
    ("GET", C, "get cluster 2024-08-05", lambda c: c.get(FIXZIT, V2024)),
    ("GET", C, "get M0 cluster 2024-08-05", lambda c: c.get(MICMAP, V2024)),
    ("GET", C, "unknown cluster 404", lambda c: c.get(f"{GROUP_PATH}/clusters/nope", V2024)),
    ("PATCH", C, "scale 2024-08-05", lambda c: c.call("PATCH", FIXZIT, V2024, {"replicationSpecs": [{"regionConfigs": [
        {"electableSpecs": {"instanceSize": "M40"}, "providerName": "AWS", "regionName": "US_EAST_1"}]}]})),
    ("PATCH", C, "autoscaling 2024-10-23", lambda c: c.call("PATCH", FIXZIT, "application/vnd.atlas.2024-10-23+json", {
        "replicationSpecs": [{"regionConfigs": [{"autoScaling": {"compute": {
            "enabled": True, "scaleDownEnabled": True, "minInstanceSize": "M30", "maxInstanceSize": "M50"}}}]}]})),
    ("PATCH", C, "legacy 2023-01-01", lambda c: c.call("PATCH", FIXZIT, V1, {"providerSettings": {
        "providerName": "AWS", "instanceSizeName": "M40"}})),
    ("PATCH", C, "M0 in place 400", lambda c: c.call("PATCH", MICMAP, V2024, {"replicationSpecs": [{"regionConfigs": [
        {"electableSpecs": {"instanceSize": "M10"}}]}]})),
    ("POST", G + "/clusters/tenantUpgrade", "M0 to M10", lambda c: c.call(
        "POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1,
        {"name": "micmap-cluster", "providerSettings": {"providerName": "AWS", "instanceSizeName": "M10"}})),
    ("POST", G + "/clusters/tenantUpgrade", "M0 to M20 with auto-scaling", lambda c: c.call(
        "POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1,
        upgrade_body("micmap-cluster", "M20", bounds=("M20", "M40")))),
    ("POST", G + "/clusters/tenantUpgrade", "dedicated cluster 400", lambda c: c.call(
        "POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1, upgrade_body("fixzit-cluster", "M40"))),
    ("POST", G + "/clusters/tenantUpgrade", "unknown cluster 404", lambda c: c.call(
        "POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1, upgrade_body("nope", "M10"))),
    ("POST", G + "/clusters/tenantUpgrade", "shared-tier target 400", lambda c: c.call(
        "POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1, upgrade_body("micmap-cluster", "M5"))),
    ("POST", G + "/clusters/tenantUpgrade", "no tier 400", lambda c: c.call(
        "POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1, {"name": "micmap-cluster"})),
    ("GET", C + "/backup/snapshots", "list snapshots", lambda c: (completed_snapshot(c), c.get(
        f"{FIXZIT}/backup/snapshots", itemsPerPage=1, includeCount="true"))[1]),
    ("POST", C + "/backup/snapshots", "on-demand", lambda c: c.call("POST", f"{FIXZIT}/backup/snapshots", body={
        "description": "x", "retentionInDays": 2})),
    ("POST", C + "/backup/snapshots", "concurrent 400", lambda c: (c.call(
        "POST", f"{FIXZIT}/backup/snapshots", body={"retentionInDays": 1}), c.call(
        "POST", f"{FIXZIT}/backup/snapshots", body={"retentionInDays": 1}))[1]),
    ("GET", C + "/backup/snapshots/{snapshotId}", "get snapshot", lambda c: c.get(
        f"{FIXZIT}/backup/snapshots/{completed_snapshot(c)}")),
    ("GET", C + "/backup/snapshots/{snapshotId}", "unknown snapshot 404", lambda c: c.get(
        f"{FIXZIT}/backup/snapshots/000000000000000000000000")),
    ("DELETE", C + "/backup/snapshots/{snapshotId}", "delete snapshot", lambda c: c.call(
        "DELETE", f"{FIXZIT}/backup/snapshots/{completed_snapshot(c)}")),
    ("POST", C + "/backup/restoreJobs", "automated", lambda c: c.call("POST", f"{FIXZIT}/backup/restoreJobs", body={
        "deliveryType": "automated", "snapshotId": completed_snapshot(c), **RESTORE_TARGET})),
    ("POST", C + "/backup/restoreJobs", "pointInTime", lambda c: (admin("POST", "journal/sample"), c.call(
        "POST", f"{FIXZIT}/backup/restoreJobs",
        body={"deliveryType": "pointInTime", "pointInTimeUTCSeconds": int(time.time()), **RESTORE_TARGET}))[1]),
    ("POST", C + "/backup/restoreJobs", "missing snapshotId 400", lambda c: c.call(
        "POST", f"{FIXZIT}/backup/restoreJobs", body={"deliveryType": "automated", **RESTORE_TARGET})),
    ("GET", C + "/backup/restoreJobs", "list restore jobs", lambda c: c.get(f"{FIXZIT}/backup/restoreJobs")),
    ("GET", C + "/backup/restoreJobs/{restoreJobId}", "finished download", lambda c: finished_job(
        c, {"deliveryType": "download", "snapshotId": completed_snapshot(c)})),
    ("DELETE", C + "/backup/restoreJobs/{restoreJobId}", "cancel", lambda c: c.call(
        "DELETE", f"{FIXZIT}/backup/restoreJobs/" + c.call("POST", f"{FIXZIT}/backup/restoreJobs", body={
            "deliveryType": "automated", "snapshotId": completed_snapshot(c), **RESTORE_TARGET}).json()["id"])),
    ("GET", C + "/backup/schedule", "schedule 2023-01-01", lambda c: c.get(f"{FIXZIT}/backup/schedule")),
    ("GET", C + "/backup/schedule", "schedule 2024-08-05", lambda c: c.get(f"{FIXZIT}/backup/schedule", V2024)),
    ("PATCH", C + "/backup/schedule", "update policy", lambda c: c.call("PATCH", f"{FIXZIT}/backup/schedule", V2024, {
        "referenceHourOfDay": 3, "policies": [{"policyItems": [
            {"frequencyType": "hourly", "frequencyInterval": 12, "retentionUnit": "days", "retentionValue": 3}]}]})),
    ("GET", G + "/accessList", "list access", lambda c: c.get(f"{GROUP_PATH}/accessList", includeCount="true")),
    ("POST", G + "/accessList", "add with expiry", lambda c: c.call("POST", f"{GROUP_PATH}/accessList", body=[
        {"ipAddress": "192.0.2.10", "comment": "runbook", "deleteAfterDate": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}])),
    ("POST", G + "/accessList", "bad CIDR 400", lambda c: c.call("POST", f"{GROUP_PATH}/accessList",
                                                                 body=[{"cidrBlock": "10.0.0.1/99"}])),
    ("GET", G + "/accessList/{entryValue}", "get entry", lambda c: c.get(f"{GROUP_PATH}/accessList/127.0.0.1")),
    ("GET", G + "/accessList/{entryValue}", "unknown entry 404", lambda c: c.get(f"{GROUP_PATH}/accessList/10.9.9.9")),
    ("GET", G + "/accessList/{entryValue}/status", "status", lambda c: c.get(f"{GROUP_PATH}/accessList/127.0.0.1/status")),
    ("DELETE", G + "/accessList/{entryValue}", "delete entry", lambda c: c.call(
        "DELETE", f"{GROUP_PATH}/accessList/127.0.0.1")),
]


def case_id(case: Case) -> str:
    method, template, what, act = case
    return f"{method} {template.split('{groupId}')[-1] or '/'}: {what}"


@pytest.mark.parametrize(("method", "template", "what", "act"), CASES, ids=[case_id(case) for case in CASES])
def test_response_matches_spec(atlas_lab: Atlas, method: str, template: str, what: str,
                               act: Callable[[Atlas], requests.Response]) -> None:
    response = act(atlas_lab)
    validate_response(template, method, response)
    if response.status_code < 300 and response.content:
        requested = response.request.headers["Accept"]
        assert response.headers["Content-Type"] == requested, "the answer speaks the version asked for"


def served_routes() -> list[tuple[str, str, tuple[str, ...]]]:
    from atlas.api import AtlasApi
    from atlas.httpcore import Router
    router = Router()
    AtlasApi(None).register(router)  # type: ignore[arg-type]  registering needs no state
    return [(r.method, r.template, r.versions) for r in router.routes]


def test_every_served_operation_is_in_the_spec_with_its_versions_and_has_cases() -> None:
    covered = {(case[0], case[1]) for case in CASES}
    for method, template, versions in served_routes():
        op = operation(template, method)
        success = next(r for s, r in op["responses"].items() if s.startswith("2"))
        if "$ref" in success:
            success = {"content": {}}
        spec_versions = {media.split(".atlas.")[1].split("+")[0] for media in (success.get("content") or {})}
        assert set(versions) == spec_versions, f"{method} {template}: serves {versions}, spec has {spec_versions}"
        assert (method, template) in covered, f"{method} {template} has no fidelity case"


def test_the_tenant_upgrade_atlas_cluster_sends_is_the_spec_s_request(atlas_lab: Atlas) -> None:
    """atlas_cluster's body (built from the M0 as the module reads it) is a LegacyAtlasTenantClusterUpgradeRequest
    at 2023-01-01, and the emulator upgrades to what it asks for."""
    from ansible_collections.appops.runbooks.plugins.modules.atlas_cluster import upgrade_body

    m0 = atlas_lab.get(MICMAP, V2024).json()
    body = upgrade_body(m0, "M20", {"enabled": True, "scale_down_enabled": True, "min_instance_size": "M10",
                                    "max_instance_size": "M30"})
    validate_request(G + "/clusters/tenantUpgrade", "POST", V1, body)
    with pytest.raises(Exception, match="is not one of"):  # the validation can fail: a tier AWS does not have
        validate_request(G + "/clusters/tenantUpgrade", "POST", V1, upgrade_body(m0, "M7", None))
    answer = atlas_lab.call("POST", f"{GROUP_PATH}/clusters/tenantUpgrade", V1, body)
    validate_response(G + "/clusters/tenantUpgrade", "POST", answer)
    region = atlas_lab.get(MICMAP, V2024).json()["replicationSpecs"][0]["regionConfigs"][0]
    assert (region["providerName"], region["regionName"]) == ("AWS", "US_EAST_1")
    assert region["electableSpecs"]["instanceSize"] == "M20"
    assert region["autoScaling"]["compute"] == {"enabled": True, "scaleDownEnabled": True,
                                                "minInstanceSize": "M10", "maxInstanceSize": "M30"}


def test_unsupported_version_is_refused_with_atlas_error(atlas_lab: Atlas) -> None:
    for media in ("application/vnd.atlas.2022-01-01+json", "application/vnd.atlas.2024-08-05+json"):
        response = atlas_lab.get(f"{GROUP_PATH}/accessList", media)  # the access list has 2023-01-01 only
        assert response.status_code == 406
        body = response.json()
        assert body["error"] == 406 and body["errorCode"] == "INVALID_VERSION_DATE"
        assert response.headers["Content-Type"] == "application/json"
        validate_error(response)
    assert atlas_lab.get(FIXZIT, "application/vnd.atlas.2024-10-23+json").status_code == 406  # PATCH-only version


def test_no_accept_version_gets_the_2023_01_01_resource(atlas_lab: Atlas) -> None:
    response = atlas_lab.get(FIXZIT, "application/json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == V1
    assert response.json()["providerSettings"]["instanceSizeName"] == "M30"


def test_digest_is_required_and_checked(atlas_emulator: str) -> None:
    anonymous = requests.get(f"{API}{GROUP_PATH}", headers={"Accept": V1}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith('Digest realm="MMS Public API"')
    assert 'qop="auth"' in anonymous.headers["WWW-Authenticate"]
    validate_response(G, "GET", anonymous)
    from requests.auth import HTTPDigestAuth

    import atlas
    wrong_secret = Atlas(auth=HTTPDigestAuth(atlas.PUBLIC_KEY, "not-the-key")).get(GROUP_PATH)
    assert wrong_secret.status_code == 401 and wrong_secret.json()["errorCode"] == "UNAUTHORIZED"
    unknown_key = Atlas(auth=HTTPDigestAuth("zzzzzzzz", atlas.PRIVATE_KEY)).get(GROUP_PATH)
    assert unknown_key.status_code == 401
    basic = Atlas(auth=(atlas.PUBLIC_KEY, atlas.PRIVATE_KEY)).get(GROUP_PATH)
    assert basic.status_code == 401, "the API keys work with Digest only"
    assert Atlas().get(GROUP_PATH).status_code == 200


def test_service_account_token_is_required_checked_and_expires(atlas_lab: Atlas) -> None:
    import atlas
    assert oauth_token(secret="wrong").status_code == 401
    assert oauth_token(client_id="mdb_sa_id_unknown").status_code == 401
    no_grant = requests.post(f"{API}/api/oauth/token", auth=(atlas.CLIENT_ID, atlas.CLIENT_SECRET), timeout=10)
    assert no_grant.status_code == 400 and no_grant.json()["error"] == "unsupported_grant_type"
    assert Atlas(bearer="eyJnot-a-token").get(GROUP_PATH).status_code == 401
    admin("POST", "knobs", {"token_ttl_seconds": 2})
    issued = oauth_token()
    assert issued.status_code == 200
    token = issued.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 2
    client = Atlas(bearer=token["access_token"])
    response = client.get(FIXZIT, V2024)
    assert response.status_code == 200
    validate_response(C, "GET", response)
    requests_log = admin("GET", "requests").json()
    assert requests_log[-1]["principal"] == f"serviceaccount:{atlas.CLIENT_ID}"
    time.sleep(2.2)
    expired = client.get(FIXZIT, V2024)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    admin("POST", "knobs", {"token_ttl_seconds": 3600})

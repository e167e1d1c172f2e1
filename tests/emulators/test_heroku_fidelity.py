"""Every Platform API route the emulator serves answers with what schema.json's link promises.

Each served route is called and its JSON body validated against that link's ``targetSchema``
(``$ref``s resolved inside schema.json, ``format`` not enforced). A route without a case here
fails ``test_every_served_schema_route_has_a_case``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import requests

from heroku_lab_helpers import API, publish_source, wait_for

PROD = "sc-mvp-production"
NODE = "micmap-api"

Case = Callable[[requests.Session, dict[str, Any]], requests.Response]


def _href(href: str) -> str:
    return re.sub(r"\{\(.*?\)\}", "{}", href)


def schema_links(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    links: dict[tuple[str, str], dict[str, Any]] = {}
    for definition in schema["definitions"].values():
        for link in definition.get("links", []):
            links.setdefault((link["method"], _href(link["href"])), link)
    return links


def lab_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """schema.json with the lab's one deliberate deviation: web_url points at the local router."""
    patched = copy.deepcopy(schema)
    patched["definitions"]["app"]["definitions"]["web_url"]["pattern"] = (
        r"^http://127\.0\.0\.1:\d+/[a-z][a-z0-9-]{1,28}[a-z0-9]/$")
    return patched


def _get(path: str) -> Case:
    return lambda http, ctx: http.get(API + path.format(**ctx))


def _json(method: str, path: str, body: Any) -> Case:
    return lambda http, ctx: http.request(method, API + path.format(**ctx),
                                          json=body(ctx) if callable(body) else body)


def _build(http: requests.Session, ctx: dict[str, Any]) -> requests.Response:
    url = publish_source(ctx["blob_server"], "fidelity.tgz", {"build": "ok", "runtime": "ok"})
    return http.post(f"{API}/apps/{NODE}/builds", json={"source_blob": {"url": url, "version": "fidelity1"}})


def _existing_build(http: requests.Session, ctx: dict[str, Any]) -> requests.Response:
    build = _build(http, ctx).json()
    return http.get(f"{API}/apps/{NODE}/builds/{build['id']}")


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/account"): _get("/account"),
    ("GET", "/account/rate-limits"): _get("/account/rate-limits"),
    ("GET", "/apps"): _get("/apps"),
    ("GET", "/apps/{}"): _get(f"/apps/{PROD}"),
    ("PATCH", "/apps/{}"): _json("PATCH", f"/apps/{PROD}", {"maintenance": False}),
    ("GET", "/apps/{}/releases"): _get(f"/apps/{PROD}/releases"),
    ("GET", "/apps/{}/releases/{}"): _get(f"/apps/{PROD}/releases/9"),
    ("POST", "/apps/{}/releases"): _json("POST", f"/apps/{PROD}/releases", lambda ctx: {"release": ctx["v8"]}),
    ("GET", "/apps/{}/releases/{}/config-vars"): _get(f"/apps/{PROD}/releases/{{v8}}/config-vars"),
    ("GET", "/apps/{}/formation"): _get(f"/apps/{PROD}/formation"),
    ("GET", "/apps/{}/formation/{}"): _get(f"/apps/{PROD}/formation/web"),
    ("PATCH", "/apps/{}/formation"): _json("PATCH", f"/apps/{PROD}/formation",
                                           {"updates": [{"type": "web", "quantity": "1"}]}),
    ("PATCH", "/apps/{}/formation/{}"): _json("PATCH", f"/apps/{PROD}/formation/web", {"quantity": 1}),
    ("GET", "/apps/{}/dynos"): _get(f"/apps/{PROD}/dynos"),
    ("POST", "/apps/{}/dynos"): _json("POST", f"/apps/{PROD}/dynos", {"command": "echo fidelity"}),
    ("DELETE", "/apps/{}/dynos"): _json("DELETE", f"/apps/{PROD}/dynos", None),
    ("GET", "/apps/{}/dynos/{}"): _get(f"/apps/{PROD}/dynos/web.1"),
    ("DELETE", "/apps/{}/dynos/{}"): _json("DELETE", f"/apps/{PROD}/dynos/web.1", None),
    ("POST", "/apps/{}/dynos/{}/actions/stop"): _json("POST", f"/apps/{PROD}/dynos/web.1/actions/stop", None),
    ("DELETE", "/apps/{}/formations/{}"): _json("DELETE", f"/apps/{PROD}/formations/web", None),
    ("POST", "/apps/{}/formations/{}/actions/stop"): _json("POST", f"/apps/{PROD}/formations/web/actions/stop", None),
    ("GET", "/apps/{}/builds"): _get(f"/apps/{NODE}/builds"),
    ("POST", "/apps/{}/builds"): _build,
    ("GET", "/apps/{}/builds/{}"): _existing_build,
    ("GET", "/apps/{}/slugs/{}"): _get(f"/apps/{PROD}/slugs/{{slug}}"),
    ("GET", "/apps/{}/config-vars"): _get(f"/apps/{PROD}/config-vars"),
    ("PATCH", "/apps/{}/config-vars"): _json("PATCH", f"/apps/{NODE}/config-vars", {"FIDELITY": "1", "SHEET_ID": None}),
    ("GET", "/apps/{}/addons"): _get(f"/apps/{PROD}/addons"),
    ("GET", "/apps/{}/addons/{}"): _get(f"/apps/{PROD}/addons/{{addon}}"),
    ("GET", "/addons"): _get("/addons"),
    ("GET", "/addons/{}"): _get("/addons/{addon}"),
    ("POST", "/actions/addons/resolve"): _json("POST", "/actions/addons/resolve", {"addon": "DATABASE", "app": PROD}),
    ("GET", "/apps/{}/addon-attachments"): _get(f"/apps/{PROD}/addon-attachments"),
    ("GET", "/apps/{}/addon-attachments/{}"): _get(f"/apps/{PROD}/addon-attachments/DATABASE"),
    ("GET", "/addon-attachments"): _get("/addon-attachments"),
    ("GET", "/addon-attachments/{}"): _get("/addon-attachments/{attachment}"),
    ("GET", "/addons/{}/addon-attachments"): _get("/addons/{addon}/addon-attachments"),
    ("POST", "/actions/addon-attachments/resolve"): _json("POST", "/actions/addon-attachments/resolve",
                                                          {"addon_attachment": "DATABASE_URL", "app": PROD}),
    ("POST", "/apps/{}/log-sessions"): _json("POST", f"/apps/{PROD}/log-sessions", {"lines": 10, "tail": False}),
}


@pytest.fixture
def context(lab: requests.Session, blob_server: Any) -> dict[str, Any]:
    releases = lab.get(f"{API}/apps/{PROD}/releases").json()
    addon = lab.get(f"{API}/apps/{PROD}/addons").json()[0]
    attachment = lab.get(f"{API}/apps/{PROD}/addon-attachments").json()[0]
    v8 = next(r for r in releases if r["version"] == 8)
    v9 = next(r for r in releases if r["version"] == 9)
    return {"v8": v8["id"], "slug": v9["slug"]["id"], "addon": addon["id"], "attachment": attachment["id"],
            "blob_server": blob_server}


@pytest.mark.integration
def test_every_served_schema_route_has_a_case(emulator: str, schema: dict[str, Any]) -> None:
    routes = requests.get(f"{emulator}/__lab/routes", timeout=5).json()
    served = {(r["method"], r["schema_href"]) for r in routes if r["schema_href"]}
    links = schema_links(schema)
    assert served - set(links) == set(), "served routes claim schema links that schema.json does not have"
    assert served == set(CASES), f"routes without validation: {served - set(CASES)}; stale cases: {set(CASES) - served}"


@pytest.mark.integration
@pytest.mark.parametrize("key", sorted(CASES), ids=lambda key: f"{key[0]} {key[1]}")
def test_response_matches_target_schema(key: tuple[str, str], lab: requests.Session, context: dict[str, Any],
                                        schema: dict[str, Any]) -> None:
    link = schema_links(schema)[key]
    response = CASES[key](lab, context)
    assert 200 <= response.status_code < 300, response.text
    assert response.headers.get("Request-Id")
    assert response.headers.get("RateLimit-Remaining", "").isdigit()
    patched = lab_schema(schema)
    target = {**link["targetSchema"], "definitions": patched["definitions"]}
    jsonschema.Draft4Validator(target).validate(response.json())


@pytest.mark.integration
def test_accept_inclusion_adds_plan_and_config_vars_for_the_cli(lab: requests.Session) -> None:
    """The CLI's database resolver needs ``addon.plan`` and ``config_vars`` on attachments."""
    plain = lab.get(f"{API}/apps/{PROD}/addon-attachments").json()[0]
    assert "plan" not in plain["addon"] and "config_vars" not in plain
    included = lab.get(f"{API}/apps/{PROD}/addon-attachments",
                       headers={"Accept-Inclusion": "addon:plan,config_vars"}).json()[0]
    assert included["addon"]["plan"]["name"] == "heroku-postgresql:standard-0"
    assert included["config_vars"] == ["DATABASE_URL"]


@pytest.mark.integration
def test_build_case_really_finishes(lab: requests.Session, context: dict[str, Any]) -> None:
    """The build used above is not just accepted: it ends succeeded with a slug and a release."""
    build = _build(lab, context).json()
    done = wait_for(lambda: (b := lab.get(f"{API}/apps/{NODE}/builds/{build['id']}").json())["status"] != "pending"
                    and b)
    assert done["status"] == "succeeded" and done["slug"] and done["release"]

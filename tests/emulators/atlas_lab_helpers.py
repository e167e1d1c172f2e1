"""Helpers and fixtures of the Atlas emulator tests: their own instance, clients, spec validation."""

from __future__ import annotations

import copy
import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

REPO = Path(__file__).resolve().parents[2]
# Their own instance (ports 18320-18322, state under .lab/tests/atlas) so the lab's Atlas on
# 18300 and other suites are never reset or faulted by these tests, nor these tests by them.
TEST_PORTS = {"ATLAS_EMU_API_PORT": os.environ.get("ATLAS_TEST_API_PORT", "18320"),
              "ATLAS_EMU_MICMAP_PORT": os.environ.get("ATLAS_TEST_MICMAP_PORT", "18321"),
              "ATLAS_EMU_FIXZIT_PORT": os.environ.get("ATLAS_TEST_FIXZIT_PORT", "18322")}
# A worktree run may put it elsewhere (ATLAS_TEST_LAB_DIR), beside other runs on the machine.
TEST_LAB_DIR = Path(os.environ.get("ATLAS_TEST_LAB_DIR") or REPO / ".lab" / "tests")
CLI_ENV = TEST_LAB_DIR / "atlas" / "cli.env"
API = f"http://127.0.0.1:{TEST_PORTS['ATLAS_EMU_API_PORT']}"
MICMAP_PORT = int(TEST_PORTS["ATLAS_EMU_MICMAP_PORT"])
FIXZIT_PORT = int(TEST_PORTS["ATLAS_EMU_FIXZIT_PORT"])
# The shared specs sit beside the repository (or beside the folder of its worktrees).
SHARED = Path(os.environ.get("APPOPS_SHARED_DIR") or next(
    (p / "shared" for p in (REPO.parent, REPO.parent.parent) if (p / "shared").is_dir()), REPO.parent / "shared"))
SPEC_PATH = SHARED / "api-specs" / "mongodb-atlas" / "spec.yaml"
V1 = "application/vnd.atlas.2023-01-01+json"
V2024 = "application/vnd.atlas.2024-08-05+json"

sys.path.insert(0, str(REPO / "lab" / "emulators"))
import atlas  # noqa: E402  the emulator's own constants (credentials, group id)

GROUP = atlas.GROUP_ID
GROUP_PATH = f"/api/atlas/v2/groups/{GROUP}"


def lab_env(ports: dict[str, str] | None = None, lab_dir: Path = TEST_LAB_DIR) -> dict[str, str]:
    """The environment of an instance: its ports (``ATLAS_EMU_*_PORT``) and its state folder."""
    return {**os.environ, **(ports or TEST_PORTS), "APPOPS_LAB_DIR": str(lab_dir),
            "ATLAS_EMU_CLI_ENV": str(lab_dir / "atlas" / "cli.env"),
            "ATLAS_EMU_TOOLS_DIR": os.environ.get("ATLAS_EMU_TOOLS_DIR") or str(REPO / ".lab" / "tools")}


def lab_script(name: str, ports: dict[str, str] | None = None,
               lab_dir: Path = TEST_LAB_DIR) -> subprocess.CompletedProcess[str]:
    """lab/atlas/<name> (lab-up.sh, lab-down.sh) for the emulator tests' instance, or the one ``ports`` name."""
    return subprocess.run(["bash", str(REPO / "lab" / "atlas" / name)], capture_output=True, text=True, check=False,
                          timeout=900, env=lab_env(ports, lab_dir))


def digest() -> HTTPDigestAuth:
    return HTTPDigestAuth(atlas.PUBLIC_KEY, atlas.PRIVATE_KEY)


def oauth_token(client_id: str = atlas.CLIENT_ID, secret: str = atlas.CLIENT_SECRET) -> requests.Response:
    return requests.post(f"{API}/api/oauth/token", auth=(client_id, secret),
                         data={"grant_type": "client_credentials"}, timeout=10)


class Atlas:
    """A small client: Digest by default, the given media type in Accept (and Content-Type with a body)."""

    def __init__(self, auth: Any = None, bearer: str | None = None) -> None:
        self.http = requests.Session()
        self.http.auth = auth if auth is not None else (None if bearer else digest())
        if bearer:
            self.http.headers["Authorization"] = f"Bearer {bearer}"

    def call(self, method: str, path: str, media: str = V1, body: Any = None, **params: Any) -> requests.Response:
        headers = {"Accept": media}
        kwargs: dict[str, Any] = {"headers": headers, "params": params or None, "timeout": 30}
        if body is not None:
            headers["Content-Type"] = media
            kwargs["json"] = body
        return self.http.request(method, f"{API}{path}", **kwargs)

    def get(self, path: str, media: str = V1, **params: Any) -> requests.Response:
        return self.call("GET", path, media, **params)


def admin(method: str, path: str, body: Any = None) -> requests.Response:
    response = requests.request(method, f"{API}/__lab/{path}", json=body, timeout=120)
    response.raise_for_status()
    return response


def wait_until(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# ---- the spec ----------------------------------------------------------------------------------
def openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema draft 7: ``nullable`` becomes a null type;
    ``oneOf`` becomes ``anyOf`` (a discriminator picks one on Atlas; subschemas without
    ``required`` would otherwise all match and fail ``oneOf``)."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: openapi_to_jsonschema(value) for key, value in node.items()}
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    out.pop("discriminator", None)
    # The spec types some string enums (regionName) as `type: object` with string alternatives.
    alternatives = out.get("anyOf") or []
    if out.get("type") == "object" and any(isinstance(a, dict) and a.get("type") not in (None, "object")
                                           for a in alternatives):
        del out["type"]
    # Python's re has no \p{...} classes; such patterns are left unchecked.
    if isinstance(out.get("pattern"), str) and "\\p" in out["pattern"]:
        del out["pattern"]
    return out


@functools.lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open() as handle:
        return yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader


def dispatch_discriminators(original: dict[str, Any], converted: dict[str, Any]) -> None:
    """A discriminated parent lists its subtypes and each subtype includes the parent (``allOf``),
    a cycle a validator cannot follow. The parent's own properties move to ``<name>__base``, the
    subtypes include that, and the parent checks the subtype its discriminator value names."""
    prefix = "#/components/schemas/"
    for name, schema in original.items():
        mapping = (schema.get("discriminator") or {}).get("mapping")
        if not mapping:
            continue
        parent = converted[name]
        base = {k: v for k, v in parent.items() if k != "anyOf"}
        converted[f"{name}__base"] = base
        field = schema["discriminator"]["propertyName"]
        for target in mapping.values():
            sub = converted.get(target.removeprefix(prefix), {})
            sub["allOf"] = [{"$ref": f"{prefix}{name}__base"} if part == {"$ref": f"{prefix}{name}"} else part
                            for part in sub.get("allOf", [])]
        converted[name] = {"allOf": [{"$ref": f"{prefix}{name}__base"}] + [
            {"if": {"properties": {field: {"const": value}}, "required": [field]}, "then": {"$ref": target}}
            for value, target in mapping.items()]}


@functools.lru_cache(maxsize=1)
def converted_spec() -> dict[str, Any]:
    converted = openapi_to_jsonschema(copy.deepcopy({"components": spec()["components"]}))
    dispatch_discriminators(spec()["components"]["schemas"], converted["components"]["schemas"])
    return converted


def operation(template: str, method: str) -> dict[str, Any]:
    return spec()["paths"][template][method.lower()]


def response_spec(template: str, method: str, status: int) -> dict[str, Any]:
    responses = operation(template, method)["responses"]
    assert str(status) in responses, f"{method} {template}: status {status} is not in the spec ({sorted(responses)})"
    found = responses[str(status)]
    if "$ref" in found:
        found = spec()["components"]["responses"][found["$ref"].rsplit("/", 1)[1]]
    return found


def validate_response(template: str, method: str, response: requests.Response) -> None:
    """The response's status, media type (version) and body are what the spec gives the operation."""
    import jsonschema

    described = response_spec(template, method, response.status_code)
    media = response.headers.get("Content-Type", "").split(";")[0].strip()
    content = described.get("content") or {}
    if response.status_code == 204 or not content:
        assert not response.content, f"{method} {template} {response.status_code}: unexpected body"
        return
    assert media in content, f"{method} {template} {response.status_code}: {media!r} not in {sorted(content)}"
    # $refs resolve against the converted components.
    root = {"components": converted_spec()["components"], **openapi_to_jsonschema(content[media]["schema"])}
    jsonschema.Draft7Validator(root).validate(response.json())


def validate_request(template: str, method: str, media: str, body: Any) -> None:
    """A request body is what the spec's requestBody takes at that media type (version)."""
    import jsonschema

    content = operation(template, method)["requestBody"]["content"]
    assert media in content, f"{method} {template}: {media!r} not in {sorted(content)}"
    root = {"components": converted_spec()["components"], **openapi_to_jsonschema(content[media]["schema"])}
    jsonschema.Draft7Validator(root).validate(body)


def validate_error(response: requests.Response) -> None:
    """An error the spec does not list for the operation (406): still Atlas's ApiError, as JSON."""
    import jsonschema

    assert response.headers.get("Content-Type", "").startswith("application/json")
    root = {"components": converted_spec()["components"], "$ref": "#/components/schemas/ApiError"}
    jsonschema.Draft7Validator(root).validate(response.json())


@pytest.fixture(scope="session")
def atlas_emulator() -> Iterator[str]:
    """The tests' own instance: lab/atlas/lab-up.sh with test ports; lab-down.sh afterwards."""
    result = lab_script("lab-up.sh")
    assert result.returncode == 0, f"lab-up.sh failed:\n{result.stdout}\n{result.stderr}"
    yield API
    lab_script("lab-down.sh")


@pytest.fixture
def atlas_lab(atlas_emulator: str) -> Iterator[Atlas]:
    """A freshly reset instance (seed state and documents) with quick timings for the tests."""
    admin("POST", "reset")
    admin("POST", "knobs", {"cluster_update_seconds": 2, "snapshot_queued_seconds": 0.5,
                            "snapshot_progress_seconds": 1, "restore_seconds": 0.5, "access_pending_seconds": 0.5})
    yield Atlas()
    requests.delete(f"{API}/__lab/faults", timeout=5)
    requests.post(f"{API}/__lab/rate-limit", json={"capacity": 100, "refill_per_minute": 100}, timeout=5)

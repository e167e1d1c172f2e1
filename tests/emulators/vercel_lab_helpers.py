"""Helpers shared by the Vercel emulator tests: the test instance, spec validation, polling."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import requests

REPO = Path(__file__).resolve().parents[2]
# The tests' own instance (own ports, own PostgreSQL cluster and Redis, own state file), so the
# shared lab on 18200 and these tests never reset or fault each other. fixzit's MONGODB_URI names a
# port where no cluster listens (18213), so its /api/health/db really tries and answers 503.
TEST_PORTS = {"VERCEL_EMU_API_PORT": "18210", "VERCEL_EMU_DOMAIN_PORT": "18211", "HEROKU_EMU_PG_PORT": "18212",
              "HEROKU_EMU_REDIS_PORT": "16396", "ATLAS_EMU_FIXZIT_PORT": "18213"}
TEST_LAB_DIR = REPO / ".lab" / "tests-vercel"
CLI_ENV = TEST_LAB_DIR / "cli.env"
API = f"http://127.0.0.1:{TEST_PORTS['VERCEL_EMU_API_PORT']}"
DOMAINS = f"http://127.0.0.1:{TEST_PORTS['VERCEL_EMU_DOMAIN_PORT']}"
TOKEN = "appops_lab_vercel_token"
TEAM_ID = "team_appopsLabTeam0000000001"
MYSETLIST = "mysetlist-sonnet"
FIXZIT = "fixzit"
# The shared folder sits next to the checkout (or its worktrees' folder); APPOPS_SHARED_DIR overrides.
_SHARED = os.environ.get("APPOPS_SHARED_DIR") or next(
    (str(p / "shared") for p in REPO.parents if (p / "shared" / "api-specs").is_dir()), str(REPO.parent / "shared"))
SPEC_PATH = Path(_SHARED) / "api-specs" / "vercel" / "vercel-spec.json"


def lab_env(ports: dict[str, str] | None = None, lab_dir: Path = TEST_LAB_DIR) -> dict[str, str]:
    """Environment for lab-up.sh / lab-down.sh that targets one own Vercel instance (the tests' by default)."""
    return {**os.environ, **(ports or TEST_PORTS), "APPOPS_LAB_DIR": str(lab_dir),
            "HEROKU_EMU_CLI_ENV": str(lab_dir / "cli.env"), "APPOPS_LAB_EMULATORS": "vercel"}


@contextmanager
def own_instance(ports: dict[str, str] | None = None, lab_dir: Path = TEST_LAB_DIR) -> Iterator[str]:
    """An own emulator instance on ``ports`` with its state under ``lab_dir``: started with lab-up.sh,
    stopped with lab-down.sh; yields the API URL."""
    env = lab_env(ports, lab_dir)
    api = f"http://127.0.0.1:{env['VERCEL_EMU_API_PORT']}"

    def script(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(REPO / "lab" / "emulators" / name)], capture_output=True, text=True,
                              check=False, timeout=300, env=env)

    result = script("lab-up.sh")
    assert result.returncode == 0, f"lab-up.sh failed:\n{result.stdout}\n{result.stderr}"
    assert requests.get(f"{api}/__lab/health", timeout=5).status_code == 200
    try:
        yield api
    finally:
        script("lab-down.sh")


def project_state(name: str) -> dict[str, Any]:
    response = requests.get(f"{API}/__lab/projects/{name}", timeout=10)
    response.raise_for_status()
    return response.json()


def wait_for(check: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def domain(host: str, path: str) -> requests.Response:
    return requests.get(f"{DOMAINS}/{host}{path}", timeout=10)


def _allow_null(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: null is one more allowed value."""
    if isinstance(node, list):
        return [_allow_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _allow_null(value) for key, value in node.items()}
    # The generated spec's oneOf alternatives overlap (a {} branch, twin pagination shapes), so a
    # correct body often matches two of them: read oneOf as anyOf.
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if node.pop("nullable", False):
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        elif "type" not in node:
            return {"anyOf": [{"type": "null"}, node]}
    return node


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    return load_spec(SPEC_PATH)


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def load_spec(path: Path) -> dict[str, Any]:
    """An OpenAPI 3.0 document read as JSON Schema (``nullable`` honoured): for any emulator's spec."""
    return _allow_null(json.loads(path.read_text()))


def declared(path: str, method: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return (document or spec())["paths"][path][method.lower()]["responses"]


def validate(response: requests.Response, path: str, method: str, document: dict[str, Any] | None = None) -> None:
    """The response's status is declared for path/method, and its body matches that status's schema
    (in vercel-spec.json, or in ``document``, another OpenAPI 3.0 spec read with load_spec)."""
    responses = declared(path, method, document)
    status = str(response.status_code)
    assert status in responses, f"{method} {path} answered {status}, the spec declares {sorted(responses)}"
    content = responses[status].get("content") or {}
    if not content:
        return
    media = next(iter(content))
    if media == "application/stream+json" or "application/json" not in content and media != "application/json":
        body = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        schema_ref = _pointer("paths", path, method.lower(), "responses", status, "content", media, "schema")
        for item in body:
            _validate_against(item, schema_ref, document)
        return
    schema_ref = _pointer("paths", path, method.lower(), "responses", status, "content", "application/json",
                          "schema")
    _validate_against(response.json(), schema_ref, document)


def _validate_against(instance: Any, ref: str, document: dict[str, Any] | None = None) -> None:
    root = dict(document or spec())
    root["$ref"] = ref  # in draft 7 a $ref hides its siblings, which stay addressable for the refs
    validator = jsonschema.Draft7Validator(root)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10])

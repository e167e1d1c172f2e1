# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""app_health through ansible-playbook: on a local connection (an API platform's app) it polls
from the controller's worker and starts no module; on any other connection the module runs on
the host. Both give the same answer, against a real HTTP server on loopback."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.appops.runbooks.tests.integration.playbooks import Playbooks
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.test_app_health import (HEALTHY, REDIS_DOWN,
                                                                                            ScriptedHealth)

pytestmark = pytest.mark.integration

MODULE_PAYLOAD_BUILT = re.compile(r"Using module file \S*/app_health\.py")
NOT_LOCAL_CONNECTION = """
from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    transport = "local_as_remote"
"""
UNAVAILABLE = (503, {"status": "down"})


def gate(url: str, **options: object) -> dict:
    return {"appops.runbooks.app_health": {"url": url, "name": "api-app", "delay": 0.2, "timeout": 20, **options}}


def test_the_gate_polls_in_the_worker_on_a_local_connection_and_as_a_module_elsewhere(tmp_path: Path) -> None:
    playbooks = Playbooks(tmp_path, {})
    with ScriptedHealth([UNAVAILABLE, HEALTHY]) as server:
        local = playbooks.run([gate(server.url)], verbosity=4)
    assert local.rc == 0, local.stdout[-3000:]
    assert local.last["status"] == "healthy" and local.last["attempts"] == 2 and local.last["changed"] is False
    assert [answer["http_status"] for answer in local.last["answers"]] == [200]
    assert not MODULE_PAYLOAD_BUILT.search(local.stdout), "a module was built for a local connection"

    (tmp_path / "connection_plugins").mkdir()
    (tmp_path / "connection_plugins" / "local_as_remote.py").write_text(NOT_LOCAL_CONNECTION)
    with ScriptedHealth([UNAVAILABLE, HEALTHY]) as server:
        remote = playbooks.run([{**gate(server.url), "vars": {"ansible_connection": "local_as_remote"}}], verbosity=4)
    assert remote.rc == 0, remote.stdout[-3000:]
    assert MODULE_PAYLOAD_BUILT.search(remote.stdout), "the module did not run on a connection that is not local"
    same = ("status", "reasons", "http_status", "body", "attempts", "changed")
    assert {key: remote.last[key] for key in same} == {key: local.last[key] for key in same}


def test_a_gate_that_is_not_met_fails_with_the_last_answer_and_bad_options_fail_as_the_module_would(
        tmp_path: Path) -> None:
    playbooks = Playbooks(tmp_path, {})
    with ScriptedHealth([REDIS_DOWN]) as server:
        failed = playbooks.run([gate(server.url, accept=["healthy"], timeout=0.5)])
        also = playbooks.run([gate(server.url, also_urls=[server.url + "?deep=1"], timeout=0)])
        bad = playbooks.run([gate(server.url, delay=0)])
        unknown = playbooks.run([gate(server.url, accept=["fine"])])
    assert failed.rc != 0 and failed.last["failed"] is True
    assert failed.last["msg"].startswith("api-app is degraded after 0.5 s (") and "last answer: HTTP 200" in failed.last["msg"]
    assert failed.last["attempts"] >= 2 and failed.last["status"] == "degraded"
    # Degraded is accepted by default; the second URL is asked once in the same run.
    assert also.rc == 0 and [answer["url"] for answer in also.last["answers"]] == [server.url, server.url + "?deep=1"]
    assert bad.rc != 0 and bad.last["msg"] == "delay must be above 0 when timeout is above 0"
    assert unknown.rc != 0 and "accept" in unknown.last["msg"] and "fine" in unknown.last["msg"]

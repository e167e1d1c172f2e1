# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Vercel helpers: the env var plan per target, source matching, the build log excerpt, the client's
team scope and its ``until`` pagination."""

from __future__ import annotations

import json

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.client import PAGE_LIMIT, VercelClient
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.deployments import Source, build_log_excerpt
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.env import Wanted, env_value, make_plan
from ansible_collections.appops.runbooks.plugins.module_utils._vercel.production import change_kind

RECORDS = [
    {"id": "e1", "key": "FLAG", "value": "on", "type": "plain", "target": ["production", "preview", "development"]},
    {"id": "e2", "key": "SECRET", "value": "", "type": "sensitive", "target": ["production"]},
    {"id": "e3", "key": "OLD", "value": "x", "type": "encrypted", "target": ["production"]},
    {"id": "e4", "key": "BRANCHED", "value": "y", "type": "plain", "target": ["preview"], "gitBranch": "dev"},
]


def plan(wanted: list[Wanted], purge: bool = False, force: bool = False):
    return make_plan(wanted, RECORDS, purge_targets=["production"] if purge else None, default_type="encrypted",
                     force_update=force)


def test_same_value_plans_nothing():
    assert plan([Wanted("FLAG", "on", ["production"])]).empty


def test_changing_one_target_narrows_the_shared_record_and_creates_one():
    result = plan([Wanted("FLAG", "off", ["production"])])
    assert result.edits == [("e1", {"target": ["development", "preview"]})]
    assert result.creates == [{"key": "FLAG", "value": "off", "target": ["production"], "type": "plain"}]
    assert result.changed_keys == {"FLAG"}


def test_record_inside_the_managed_targets_is_edited_in_place():
    result = plan([Wanted("OLD", "z", ["production"], "plain")])
    assert result.edits == [("e3", {"value": "z", "type": "plain"})] and not result.creates


def test_null_removes_and_narrows():
    result = plan([Wanted("OLD", None, ["production"]), Wanted("FLAG", None, ["production"])])
    assert result.deletes == ["e3"]
    assert result.edits == [("e1", {"target": ["development", "preview"]})]
    assert result.removed_keys == {"OLD", "FLAG"}


def test_sensitive_values_are_not_compared_unless_forced():
    kept = plan([Wanted("SECRET", "s", ["production"])])
    assert kept.empty and kept.uncompared_keys == {"SECRET"}
    assert "cannot compare" in kept.notes["SECRET@production"]
    forced = plan([Wanted("SECRET", "s", ["production"])], force=True)
    assert forced.edits == [("e2", {"value": "s"})]


def test_purge_removes_unlisted_keys_but_not_branch_vars():
    result = plan([Wanted("FLAG", "on", ["production"])], purge=True)
    assert set(result.deletes) == {"e2", "e3"} and result.removed_keys == {"SECRET", "OLD"}


def test_env_value_spells_booleans_like_vercel():
    assert (env_value(True), env_value(False), env_value(3), env_value(None)) == ("true", "false", "3", None)


def test_source_matching():
    listed = {"meta": {"githubCommitRef": "main", "githubCommitSha": "abcdef123", "originalDeploymentId": "dpl_1"}}
    assert Source(git={"ref": "main", "sha": "abcdef"}).matches(listed)
    assert not Source(git={"ref": "main", "sha": "fff"}).matches(listed)
    assert Source(git={"ref": "main"}).matches(listed)
    assert Source(redeploy_of={"id": "dpl_1"}).matches(listed)
    files = [{"file": "a", "data": "1"}, {"file": "b", "data": "2"}]
    digest = Source(files=files).digest
    assert Source(files=list(reversed(files))).matches({"meta": {"appopsFilesDigest": digest}})


def test_build_log_excerpt_marks_errors_and_keeps_the_end():
    events = [{"type": "stdout", "payload": {"text": f"line {n}"}} for n in range(5)]
    events.append({"type": "stderr", "payload": {"text": "boom"}})
    assert build_log_excerpt(events, 2) == ["line 4", "[stderr] boom"]


def test_change_kind_rolls_back_to_older_production_only():
    current = {"createdAt": 10}
    assert change_kind("auto", {"createdAt": 5, "target": "production", "readyState": "READY"}, current) == "rollback"
    assert change_kind("auto", {"createdAt": 5, "target": None, "readyState": "READY"}, current) == "promote"
    assert change_kind("auto", {"createdAt": 20, "target": "production", "readyState": "READY"}, current) == "promote"


class FakeResponse:
    def __init__(self, body: object) -> None:
        self.status_code = 200
        self.headers: dict[str, str] = {}
        self.reason = "OK"
        self.content = json.dumps(body).encode()
        self._body = body

    def json(self) -> object:
        return self._body


class FakeSession:
    """Ten deployments (createdAt 10 down to 1), at most four a page whatever the limit; remembers every call."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.verify = True
        self.trust_env = False
        self.calls: list[tuple[str, str, dict]] = []

    def request(self, method: str, url: str, params=None, **kwargs) -> FakeResponse:
        params = dict(params or {})
        self.calls.append((method, url, params))
        until = int(params.get("until", 11))
        created = [c for c in range(10, 0, -1) if c < until][: min(int(params.get("limit", 100)), 4)]
        more = created and created[-1] > 1
        return FakeResponse({"deployments": [{"uid": f"dpl_{c}", "createdAt": c} for c in created],
                             "pagination": {"count": len(created), "next": created[-1] if more else None}})

    def close(self) -> None:
        pass


def test_every_call_carries_the_team_and_listings_follow_until():
    session = FakeSession()
    client = VercelClient("tok_secret", team_id="team_1", api_url="http://127.0.0.1:1", session=session)
    listed = client.deployments("prj_1", limit=5, target="production")
    assert [d["uid"] for d in listed] == ["dpl_10", "dpl_9", "dpl_8", "dpl_7", "dpl_6"]
    sent = [params for _method, _url, params in session.calls]
    assert all(params["teamId"] == "team_1" and params["projectId"] == "prj_1" for params in sent)
    assert [params.get("until") for params in sent] == [None, 7]
    session.calls.clear()
    everything = client.deployments("prj_1")
    assert [d["createdAt"] for d in everything] == list(range(10, 0, -1))
    assert [params.get("until") for _method, _url, params in session.calls] == [None, 7, 3]
    assert session.calls[-1][2]["limit"] == PAGE_LIMIT
    assert "tok_secret" not in repr(client)
    assert session.headers["Authorization"] == "Bearer tok_secret"


def test_without_a_team_no_team_parameter_is_sent():
    session = FakeSession()
    VercelClient("tok", api_url="http://127.0.0.1:1", session=session).deployments("prj_1", limit=1)
    assert "teamId" not in session.calls[0][2]

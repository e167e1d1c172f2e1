# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of the Vercel helpers: the env var plan per target, source matching, the build log excerpt."""

from __future__ import annotations

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

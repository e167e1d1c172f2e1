# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.modules import heroku_build
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests

SOURCE = {"source_url": "https://artifacts.invalid/sc-mvp/v1.3.0.tar.gz", "checksum": "SHA256:abc123",
          "source_version": "v1.3.0"}


def test_build_check_apply_then_idempotent_by_checksum(heroku):
    app = heroku.add_app("sc-mvp-staging", releases=3)
    args = {"app": "sc-mvp-staging", **SOURCE, "buildpacks": ["heroku/ruby"]}

    checked = run_module(heroku_build, args, check_mode=True, diff=True)
    assert checked["changed"] is True and "build" not in checked
    assert checked["diff"]["after"] == {"checksum": "SHA256:abc123", "version": "v1.3.0"}
    assert app.builds == [] and heroku.writes() == []

    applied = run_module(heroku_build, args)
    assert applied["changed"] is True
    assert [r["body"] for r in heroku.requests("POST", "/apps/sc-mvp-staging/builds")] == [{
        "source_blob": {"url": SOURCE["source_url"], "checksum": "SHA256:abc123", "version": "v1.3.0"},
        "buildpacks": [{"url": "heroku/ruby"}]}]
    assert applied["build"]["status"] == "succeeded"
    assert applied["release"]["status"] == "succeeded" and applied["release"]["version"] == 4
    assert applied["release"]["id"] == applied["build"]["release"]["id"]

    # A new signed URL for the same tarball: same checksum, so nothing to do.
    same = dict(args, source_url="https://artifacts.invalid/sc-mvp/v1.3.0.tar.gz?sig=new")
    for check_mode in (True, False):
        again = run_module(heroku_build, same, check_mode=check_mode)
        assert again["changed"] is False and again["build"]["id"] == applied["build"]["id"]
        assert again["release"]["version"] == 4
    assert len(heroku.requests("POST")) == 1


def test_other_checksum_builds_again(heroku):
    heroku.add_app("a")
    run_module(heroku_build, {"app": "a", **SOURCE})
    second = run_module(heroku_build, {"app": "a", **dict(SOURCE, checksum="SHA256:def456")})
    assert second["changed"] is True and len(heroku.requests("POST", "/apps/a/builds")) == 2


def test_source_version_and_url_comparisons(heroku):
    heroku.add_app("a")
    by_version = {"app": "a", "source_url": "https://x.invalid/1.tgz", "source_version": "abc"}
    assert run_module(heroku_build, by_version)["changed"] is True
    assert run_module(heroku_build, dict(by_version, source_url="https://x.invalid/other.tgz"))["changed"] is False
    by_url = {"app": "a", "source_url": "https://x.invalid/2.tgz"}
    assert run_module(heroku_build, by_url)["changed"] is True
    assert run_module(heroku_build, by_url)["changed"] is False


def test_running_build_of_same_source_is_attached_to(heroku):
    app = heroku.add_app("a")
    heroku.pending_polls = 10 ** 6
    first = run_module(heroku_build, {"app": "a", **SOURCE, "wait": False})
    assert first["changed"] is True and first["build"]["status"] == "pending"
    app.builds[0]["_polls"] = 2
    heroku.pending_polls = 0
    attached = run_module(heroku_build, {"app": "a", **SOURCE})
    assert attached["changed"] is False and attached["attached"] is True
    assert attached["build"]["status"] == "succeeded"
    assert len(heroku.requests("POST", "/apps/a/builds")) == 1


def test_failed_build_fails_with_output_url(heroku):
    heroku.add_app("a")
    heroku.build_result = "failed"
    result = run_module(heroku_build, {"app": "a", **SOURCE})
    assert result["failed"] and "failed; output: https://out.invalid/build" in result["msg"]


def test_rollback_to_the_built_slug_still_counts_as_deployed(heroku):
    app = heroku.add_app("a")
    heroku.pending_polls = 0
    built = run_module(heroku_build, {"app": "a", **SOURCE})
    # Someone deploys something else, then rolls back to the release of our build.
    heroku._new_release(app, "Deploy other", "slug-other")
    heroku._new_release(app, f"Rollback to v{built['release']['version']}", built["build"]["slug"]["id"])
    assert run_module(heroku_build, {"app": "a", **SOURCE})["changed"] is False


def test_build_whose_answer_is_lost_builds_once(heroku):
    app = heroku.add_app("sc-mvp-staging", releases=3)
    heroku.lose_answer("POST", "/apps/sc-mvp-staging/builds", how="drop")

    result = run_module(heroku_build, {"app": "sc-mvp-staging", **SOURCE}, diff=True)

    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["attached"] is False
    assert result["build"]["status"] == "succeeded" and result["release"]["version"] == 4
    assert result["diff"]["after"] == {"checksum": "SHA256:abc123", "version": "v1.3.0"}
    assert len(heroku.requests("POST", "/apps/sc-mvp-staging/builds")) == 1 and len(app.builds) == 1

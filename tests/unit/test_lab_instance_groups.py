# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every integration test file runs in the group of the lab instance it drives (tests/conftest.py).

A new test folder that drives a shared instance but has no group would run beside the tests
that reset that instance, and fail at random; this check names it instead."""

from __future__ import annotations

import pathlib

from ansible_collections.appops.runbooks.tests.conftest import INDEPENDENT, TESTS, lab_instance_group


def integration_test_files() -> list[str]:
    """Every integration test file, relative to tests/."""
    return sorted(path.relative_to(TESTS).as_posix()
                  for folder in ("integration", "emulators") for path in (TESTS / folder).rglob("test_*.py"))


def test_every_integration_test_file_has_a_group_or_is_declared_independent():
    unplaced = [relative for relative in integration_test_files()
                if lab_instance_group(TESTS / relative) is None and relative not in INDEPENDENT]
    assert not unplaced, f"add these to LAB_INSTANCE_GROUPS or INDEPENDENT in tests/conftest.py: {unplaced}"


def test_independent_files_exist_and_have_no_group():
    for relative in INDEPENDENT:
        assert (TESTS / relative).is_file(), relative
        assert lab_instance_group(TESTS / relative) is None, relative


def test_tests_of_one_instance_share_one_group():
    group = lab_instance_group
    assert group(TESTS / "integration/heroku/test_state_backend.py") == group(TESTS / "integration/heroku_modules/x.py")
    assert group(TESTS / "integration/bench/test_fleet_bench_smoke.py") == group(TESTS / "integration/heroku/x.py")
    assert group(TESTS / "integration/compose/x.py") == group(TESTS / "integration/lab/x.py")
    assert group(TESTS / "integration/bench/test_restore_bench_smoke.py") == group(TESTS / "integration/compose/x.py")
    assert len({group(TESTS / "integration/heroku/x.py"), group(TESTS / "integration/compose/x.py"),
                group(TESTS / "emulators/x.py")}) == 3
    assert group(pathlib.Path("/elsewhere/test_x.py")) is None


def test_heroku_tests_on_an_instance_of_their_own_have_a_group_of_their_own():
    group = lab_instance_group
    heroku = TESTS / "integration" / "heroku"
    assert group(heroku / "test_faults.py") == "heroku-faults-emulator"
    assert group(heroku / "test_recovery.py") == group(heroku / "test_state_backend.py") == "heroku-locks-emulator"
    assert group(heroku / "test_verbose_output.py") == "heroku-locks-emulator"
    assert group(heroku / "test_procedures.py") == "heroku-lab-emulator"

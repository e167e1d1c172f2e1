# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which live lab instance each integration test drives, for running them side by side.

`make integration` runs the integration tests on several pytest-xdist workers with
``--dist loadgroup``. Tests that drive the same stateful instance must stay on one worker, in
order: the Heroku procedure tests reset the shared emulator before each test (which would delete
the apps another test just made), and the compose tests drop tables and restart the
coffee-tracker stack. Tests on different instances share nothing, so their groups run at once.
"""
from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# First matching prefix wins; paths are relative to tests/.
LAB_INSTANCE_GROUPS: tuple[tuple[str, str], ...] = (
    # Heroku tests on an emulator instance of their group's own, started and stopped by a session
    # fixture of integration/heroku/conftest.py: faults_heroku_lab (18120-18123, Redis 16397,
    # state schema heroku_faults), locks_heroku_lab (18124-18127, Redis 16394, heroku_locks).
    ("integration/heroku/test_faults.py", "heroku-faults-emulator"),
    ("integration/heroku/test_recovery.py", "heroku-locks-emulator"),
    ("integration/heroku/test_state_backend.py", "heroku-locks-emulator"),
    # Any instance would do: with the lock tests the two groups take about as long.
    ("integration/heroku/test_verbose_output.py", "heroku-locks-emulator"),
    # The heroku_* modules' tests create apps of their own in the lock tests' instance.
    ("integration/heroku_modules/", "heroku-locks-emulator"),
    # The emulator on 18100 (the lab's own): reset per test, or apps created in it.
    ("integration/heroku/", "heroku-lab-emulator"),
    # The lab's Vercel emulator (18200, domains 18201): reset per test and when the session ends.
    ("integration/vercel/", "vercel-lab-emulator"),
    ("integration/bench/test_fleet_bench_smoke.py", "heroku-lab-emulator"),
    # bench/mongo_restore.py --quick: a MongoDB cluster of its own on a free port, its files under
    # .lab/bench-mongo-restore. Its tests share one run (a module fixture): in one group they run on
    # one worker, or two workers each start the bench on the same folder and the second finds the
    # first one's server in its pid file.
    ("integration/bench/test_mongo_restore_bench_smoke.py", "mongo-restore-bench"),
    # The coffee-tracker compose stack, its PostgreSQL, Redis, SQLite file and backups.
    # (compose/test_state_backend.py also keeps coffee-tracker's rows in the state PostgreSQL, which
    # the heroku group shares: each group's reset touches only its own apps' rows.)
    ("integration/compose/", "coffee-tracker-stack"),
    ("integration/lab/", "coffee-tracker-stack"),
    ("integration/bench/test_restore_bench_smoke.py", "coffee-tracker-stack"),
    # The Vercel emulator tests' own instance (18210), started and stopped by their session fixture.
    ("emulators/test_vercel_", "vercel-test-emulator"),
    # The vercel_* modules' own emulator instance (18230-18233), started and stopped by their session fixture.
    ("integration/vercel_modules/", "vercel-modules-emulator"),
    # The Vercel fleet test's own instance (18295-18299, state under .lab/tests-vercel-fleet).
    ("integration/vercel_fleet/", "vercel-fleet-emulator"),
    # bench/fleet.py --platform vercel starts and stops its own instance (18290-18294).
    ("integration/bench/test_fleet_vercel_bench_smoke.py", "vercel-bench-emulator"),
    # The atlas store: clusters of its own (18340-18342), and micmap-api's app in the emulator on
    # 18100 (its MONGODB_URI, maintenance, health), so with the Heroku procedures' tests.
    ("integration/atlas_store/", "heroku-lab-emulator"),
    # The atlas store's snapshot method: an Atlas emulator instance of its own (18350-18352, state
    # under .lab/tests-atlas-snapshot) and micmap-api's app in the emulator on 18100.
    ("integration/atlas_snapshot/", "heroku-lab-emulator"),
    # The Atlas fleet: an Atlas emulator instance of its own (API only, empty clusters), the fleet
    # test's on 18395, the bench's on 18393.
    ("integration/atlas_fleet/", "atlas-fleet-emulator"),
    ("integration/bench/test_fleet_atlas_bench_smoke.py", "atlas-fleet-emulator"),
    # The atlas store's fault tests: an Atlas emulator instance of their own (18360-18362, state under
    # .lab/tests-atlas-faults) and micmap-api's app and lock in the lab's emulator and state database.
    ("integration/atlas_faults/", "heroku-lab-emulator"),
    # The lab's Atlas emulator (18300) and its MongoDB clusters (18310, 18311).
    ("integration/atlas_lab/", "atlas-lab-emulator"),
    # The Atlas module tests' own instance (18330-18332, state under .lab/tests-atlas-modules).
    ("integration/atlas_modules/", "atlas-modules-emulator"),
    # playbooks/config.yml applying an app's atlas_access_list and atlas_backup_policy: an Atlas
    # emulator API of its own (18380, state in a temporary folder) and a generated inventory.
    ("integration/atlas_config/", "atlas-config-emulator"),
    # The Atlas emulator tests' own instance (18320-18322) and its clusters, started and stopped
    # by their session fixture.
    ("emulators/test_atlas_", "atlas-test-emulator"),
    ("emulators/test_mongo_tools.py", "atlas-test-emulator"),
    # The Supabase emulator tests' own instance (18410) and its own PostgreSQL cluster (18411),
    # started and stopped by their session fixture; the supabase store's procedure tests use it too
    # (SUPABASE_TESTS_API_PORT / _PG_PORT / _HEALTH_PORT / _LAB_DIR move it, supabase_lab_helpers.py).
    ("emulators/test_supabase_", "supabase-test-emulator"),
    ("integration/supabase/", "supabase-test-emulator"),
    # The emulator tests' own instance (18110), started and stopped by their session fixture.
    ("emulators/", "heroku-test-emulator"),
)
# Integration tests that drive no shared lab instance, so any worker may run them at any time.
INDEPENDENT: frozenset[str] = frozenset({
    "integration/bench/test_interpreter_bench_smoke.py",
    "integration/callback/test_progress.py",
    "integration/health/test_app_health_on_controller.py",
})


def lab_instance_group(path: Path) -> str | None:
    """The group of a test file, or None when it drives no shared instance."""
    try:
        relative = path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return None
    for prefix, group in LAB_INSTANCE_GROUPS:
        if relative.startswith(prefix):
            return group
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: xdist reads the xdist_group mark in its own hook of this name.
    for item in items:
        group = lab_instance_group(item.path)
        if group and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(group))

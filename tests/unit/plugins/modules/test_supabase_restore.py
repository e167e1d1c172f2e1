# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of the supabase modules: the target time and the recovery window.

The API calls themselves run against the lab's Supabase emulator
(tests/integration/supabase/test_supabase_store.py)."""
from __future__ import annotations

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._supabase.client import recovery_window
from ansible_collections.appops.runbooks.plugins.modules.supabase_restore import unix_time


def test_point_in_time_as_unix_seconds_or_iso_with_a_zone() -> None:
    assert unix_time("1765016100") == 1765016100
    assert unix_time("2025-12-06T10:15:00Z") == 1765016100
    assert unix_time("2025-12-06T11:15:00+01:00") == 1765016100
    with pytest.raises(ValueError, match="no time zone"):
        unix_time("2025-12-06T10:15:00")


def test_recovery_window_only_with_pitr() -> None:
    data = {"earliest_physical_backup_date_unix": 100, "latest_physical_backup_date_unix": 200}
    assert recovery_window({"pitr_enabled": True, "physical_backup_data": data}) == {"earliest": 100, "latest": 200}
    assert recovery_window({"pitr_enabled": False, "physical_backup_data": data}) is None
    assert recovery_window({"pitr_enabled": True, "physical_backup_data": {}}) is None

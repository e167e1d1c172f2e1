# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vercel_project_fleet's decisions that need no API: what was there before, what is not served yet."""
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.module_utils._vercel.env import Wanted
from ansible_collections.appops.runbooks.plugins.modules import vercel_project_fleet as fleet


def record(key: str, value: str, kind: str = "plain", target: tuple[str, ...] = ("production",),
           updated: int = 100) -> dict:
    return {"id": f"env_{key}", "key": key, "value": value, "type": kind, "target": list(target), "updatedAt": updated}


def test_previous_values_are_read_in_the_target_and_never_for_sensitive_ones():
    records = [record("MAINTENANCE_MESSAGE", "preview text", target=("preview",)),
               record("MAINTENANCE_MODE", "", kind="sensitive")]
    previous = fleet.previous_values(records, ["MAINTENANCE_MODE", "MAINTENANCE_MESSAGE"], "production")
    assert previous == {"MAINTENANCE_MODE": None, "MAINTENANCE_MESSAGE": None}
    records.append(record("MAINTENANCE_MESSAGE", "own text"))
    assert fleet.previous_values(records, ["MAINTENANCE_MESSAGE"], "production") == {"MAINTENANCE_MESSAGE": "own text"}


def test_a_wanted_key_written_after_the_production_build_is_not_served_yet():
    project = {"targets": {"production": {"id": "dpl_1", "createdAt": 200}}}
    wanted = [Wanted("MAINTENANCE_MODE", "true", ["production"])]
    assert not fleet.built_before_change(project, [record("MAINTENANCE_MODE", "true", updated=150)], wanted)
    assert fleet.built_before_change(project, [record("MAINTENANCE_MODE", "true", updated=250)], wanted)
    # Other keys changed later do not count: this run does not manage them.
    assert not fleet.built_before_change(project, [record("OTHER", "x", updated=250)], wanted)

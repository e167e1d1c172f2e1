#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_backup_policy
short_description: The cloud backup schedule and retention of a MongoDB Atlas cluster as desired state
version_added: 0.1.0
description:
  - Makes the cluster's backup schedule (C(/backup/schedule)) what the options say (the reference time of
    the scheduled snapshots, the point-in-time restore window, and the policy items (how often a snapshot is
    taken and how long it is kept)).
  - Only the options given are compared and set; O(policy_items), when given, is the whole list (items not
    listed are removed from the policy). A schedule that already matches is left alone.
options:
  cluster:
    description:
      - Name of the cluster.
    type: str
    required: true
  reference_hour_of_day:
    description: UTC hour (0-23) from which scheduled snapshots are counted.
    type: int
  reference_minute_of_hour:
    description: Minute (0-59) of that hour.
    type: int
  restore_window_days:
    description: Days back a point-in-time restore can reach (Continuous Cloud Backup).
    type: int
  policy_items:
    description:
      - The snapshot frequencies and their retention.
    type: list
    elements: dict
    suboptions:
      frequency_type:
        description: How often.
        type: str
        required: true
        choices: [hourly, daily, weekly, monthly, yearly]
      frequency_interval:
        description:
          - Every how many hours for V(hourly) (1, 2, 4, 6, 8 or 12); the day of the week (1-7) or of the month
            (1-28, 40 for the last) for V(weekly) and V(monthly); 1 for V(daily).
        type: int
        default: 1
      retention_unit:
        description: Unit of O(policy_items[].retention_value).
        type: str
        required: true
        choices: [days, weeks, months, years]
      retention_value:
        description: How many units a snapshot of this item is kept.
        type: int
        required: true
extends_documentation_fragment:
  - appops.runbooks.atlas
  - appops.runbooks.api_retry
  - appops.runbooks.atlas.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Snapshots every 6 hours kept 3 days, dailies kept 14 days, from 02:00 UTC
  appops.runbooks.atlas_backup_policy:
    project_id: "{{ atlas_project_id }}"
    cluster: fixzit-cluster
    reference_hour_of_day: 2
    restore_window_days: 3
    policy_items:
      - {frequency_type: hourly, frequency_interval: 6, retention_unit: days, retention_value: 3}
      - {frequency_type: daily, retention_unit: days, retention_value: 14}
"""

RETURN = r"""
policy:
  description: The schedule afterwards, in the options' terms.
  returned: always
  type: dict
  sample: {reference_hour_of_day: 2, reference_minute_of_hour: 0, restore_window_days: 3,
           policy_items: [{frequency_type: hourly, frequency_interval: 6, retention_unit: days, retention_value: 3}],
           next_snapshot: "2025-11-03T08:00:00Z"}
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule

SCALARS = {"reference_hour_of_day": "referenceHourOfDay", "reference_minute_of_hour": "referenceMinuteOfHour",
           "restore_window_days": "restoreWindowDays"}
ITEM_FIELDS = {"frequency_type": "frequencyType", "frequency_interval": "frequencyInterval",
               "retention_unit": "retentionUnit", "retention_value": "retentionValue"}
FREQUENCY_ORDER = ("hourly", "daily", "weekly", "monthly", "yearly")


def item_key(item: dict) -> tuple:
    return (FREQUENCY_ORDER.index(item["frequency_type"]) if item["frequency_type"] in FREQUENCY_ORDER else 99,
            item["frequency_interval"], item["retention_unit"], item["retention_value"])


def policy_view(schedule: dict) -> dict:
    items = [{option: item.get(field) for option, field in ITEM_FIELDS.items()}
             for policy in schedule.get("policies") or [] for item in policy.get("policyItems") or []]
    view: dict[str, t.Any] = {option: schedule.get(field) for option, field in SCALARS.items()}
    view["policy_items"] = sorted(items, key=item_key)
    view["next_snapshot"] = schedule.get("nextSnapshot")
    return view


def request_body(schedule: dict, changes: dict) -> dict:
    body = {SCALARS[key]: value for key, value in changes.items() if key in SCALARS}
    if "policy_items" in changes:
        existing = [item for policy in schedule.get("policies") or [] for item in policy.get("policyItems") or []]
        by_frequency = {(i.get("frequencyType"), i.get("frequencyInterval")): i.get("id") for i in existing}
        items = []
        for item in changes["policy_items"]:
            sent = {field: item[option] for option, field in ITEM_FIELDS.items()}
            known = by_frequency.get((item["frequency_type"], item["frequency_interval"]))
            if known:
                sent["id"] = known
            items.append(sent)
        policy_id = next((p.get("id") for p in schedule.get("policies") or [] if p.get("id")), None)
        body["policies"] = [{"id": policy_id, "policyItems": items} if policy_id else {"policyItems": items}]
    return body


def compared(view: dict) -> dict:
    """What the diff shows: the settings, not the time of the next snapshot."""
    return {k: v for k, v in view.items() if k != "next_snapshot"}


def run(am: AtlasModule) -> None:
    cluster = am.params["cluster"]
    am.doing("reading the backup schedule")
    schedule = am.client.backup_schedule(cluster)
    current = policy_view(schedule)
    wanted = {key: am.params[key] for key in SCALARS if am.params[key] is not None}
    if am.params["policy_items"] is not None:
        wanted["policy_items"] = sorted(am.params["policy_items"], key=item_key)
    changes = {key: value for key, value in wanted.items() if current.get(key) != value}
    if not changes:
        am.exit(False, policy=current)
    predicted = {**current, **changes}
    answer = am.write(f"changing the backup schedule of {cluster} ({', '.join(sorted(changes))})",
                      lambda: am.client.update_backup_schedule(cluster, request_body(schedule, changes)), None)
    after = predicted if answer is None else policy_view(answer)
    am.exit(True, before=compared(current), after=compared(after), policy=after)


def main() -> None:
    spec: dict[str, dict[str, t.Any]] = dict(
        cluster=dict(type="str", required=True),
        reference_hour_of_day=dict(type="int"),
        reference_minute_of_hour=dict(type="int"),
        restore_window_days=dict(type="int"),
        policy_items=dict(type="list", elements="dict", options=dict(
            frequency_type=dict(type="str", required=True, choices=["hourly", "daily", "weekly", "monthly", "yearly"]),
            frequency_interval=dict(type="int", default=1),
            retention_unit=dict(type="str", required=True, choices=["days", "weeks", "months", "years"]),
            retention_value=dict(type="int", required=True),
        )),
    )
    AtlasModule(spec).run(run)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: atlas_access_list
short_description: The IP access list of a MongoDB Atlas project as desired state
version_added: 0.1.0
description:
  - Makes the entries of the project's IP access list (C(/groups/{groupId}/accessList), the endpoint that
    replaced the whitelist one Atlas removed) what O(entries) says, with comments and an optional expiry
    (C(deleteAfterDate)); with O(purge) it also removes every entry not listed.
  - Compares before it writes; entries that already have the desired comment and expiry are left alone.
  - B(0.0.0.0/0 is refused.) An entry for C(0.0.0.0/0) (or C(::/0)) lets every address on the internet reach the
    clusters of the project, guarded by the database passwords alone; the "add 0.0.0.0/0 to the access list"
    advice of runbooks opens the database to the world. The module refuses such an entry unless
    O(force_open_to_world=true) says that this is meant.
options:
  entries:
    description:
      - The access list entries.
    type: list
    elements: dict
    required: true
    suboptions:
      ip_address:
        description: One address (becomes C(address/32), or C(/128) for IPv6).
        type: str
      cidr_block:
        description: A network in CIDR notation, for example V(203.0.113.0/24); host bits must be zero.
        type: str
      comment:
        description: Comment Atlas shows with the entry.
        type: str
        default: ""
      delete_after_date:
        description:
          - ISO 8601 time at which Atlas removes the entry on its own (at most a week ahead), for temporary access.
        type: str
  state:
    description:
      - V(present) adds or updates the entries, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove every entry of the project that O(entries) does not list.
    type: bool
    default: false
  force_open_to_world:
    description:
      - Allow an entry for C(0.0.0.0/0) or C(::/0), which opens the project's clusters to every address.
    type: bool
    default: false
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
- name: The app's egress addresses, and one engineer's address for a day
  appops.runbooks.atlas_access_list:
    project_id: "{{ atlas_project_id }}"
    entries:
      - cidr_block: 203.0.113.0/28
        comment: micmap-api egress
      - ip_address: 198.51.100.7
        comment: on-call laptop
        delete_after_date: "2025-11-04T00:00:00Z"
"""

RETURN = r"""
entries:
  description: The project's access list afterwards (C(cidrBlock), C(ipAddress), C(comment), C(deleteAfterDate)).
  returned: always
  type: list
  elements: dict
added:
  description: CIDR blocks added or updated.
  returned: always
  type: list
  elements: str
removed:
  description: CIDR blocks removed.
  returned: always
  type: list
  elements: str
"""

import ipaddress
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._atlas.jobs import iso_time, parse_time, without_links
from ansible_collections.appops.runbooks.plugins.module_utils._atlas.module import AtlasModule


class AccessListModule(AtlasModule):
    subject_label = "Atlas project"
    subject_option = "project_id"


def network_of(am: AtlasModule, entry: dict) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    given = entry.get("ip_address") or entry.get("cidr_block")
    try:
        if entry.get("ip_address"):
            return ipaddress.ip_network(ipaddress.ip_address(entry["ip_address"]))
        return ipaddress.ip_network(entry["cidr_block"], strict=True)
    except ValueError as error:
        am.fail(f"access list entry {given!r} is not an IP address or CIDR block with zero host bits: {error}")


def expiry(am: AtlasModule, value: t.Any) -> str | None:
    try:
        seconds = parse_time(value)
    except ValueError:
        am.fail(f"delete_after_date must be an ISO 8601 time, got {value!r}")
    return None if seconds is None else iso_time(seconds)


def wanted_entries(am: AtlasModule) -> dict[str, dict]:
    wanted: dict[str, dict] = {}
    for entry in am.params["entries"]:
        if bool(entry.get("ip_address")) == bool(entry.get("cidr_block")):
            am.fail("each access list entry needs exactly one of ip_address and cidr_block")
        network = network_of(am, entry)
        if network.prefixlen == 0 and am.params["state"] == "present" and not am.params["force_open_to_world"]:
            am.fail(f"refusing the access list entry {network}: it opens the project's clusters to every address on "
                    "the internet, guarded by database passwords alone. Use the addresses that need access instead; "
                    "set force_open_to_world=true only if this is really meant.")
        body: dict[str, t.Any] = {"comment": entry.get("comment") or ""}
        if entry.get("ip_address"):
            body["ipAddress"] = str(network.network_address)
        else:
            body["cidrBlock"] = str(network)
        after = expiry(am, entry.get("delete_after_date"))
        if after:
            body["deleteAfterDate"] = after
        wanted[str(network)] = body
    return wanted


def current_entries(am: AtlasModule) -> dict[str, dict]:
    am.doing("reading the access list")
    current = {}
    for entry in am.client.access_list():
        network = str(ipaddress.ip_network(entry.get("cidrBlock") or entry.get("ipAddress"), strict=False))
        current[network] = without_links(entry)
    return current


def view(entry: dict) -> dict:
    deadline = entry.get("deleteAfterDate")
    return {"comment": entry.get("comment") or "", "delete_after_date": iso_time(parse_time(deadline)) if deadline else None}


def entry_value(cidr: str, entry: dict) -> str:
    """How the API names an entry in its path: the address for a single address, else the CIDR block."""
    return entry.get("ipAddress") or cidr


def run(am: AtlasModule) -> None:
    wanted = wanted_entries(am)
    current = current_entries(am)
    before = {cidr: view(entry) for cidr, entry in sorted(current.items())}
    if am.params["state"] == "present":
        to_add = [cidr for cidr, body in wanted.items() if cidr not in current or view(current[cidr]) != view(body)]
        to_remove = sorted(set(current) - set(wanted)) if am.params["purge"] else []
    else:
        to_add, to_remove = [], sorted(cidr for cidr in wanted if cidr in current)
    if not to_add and not to_remove:
        am.exit(False, entries=list(current.values()), added=[], removed=[])
    if to_add:
        am.write(f"adding {', '.join(to_add)} to the access list",
                 lambda: am.client.add_access_entries([wanted[cidr] for cidr in to_add]), None)
    for cidr in to_remove:
        am.write(f"removing {cidr} from the access list",
                 lambda cidr=cidr: am.client.delete_access_entry(entry_value(cidr, current[cidr])), None)
    predicted = {cidr: view(entry) for cidr, entry in current.items() if cidr not in to_remove}
    predicted.update({cidr: view(wanted[cidr]) for cidr in to_add})
    entries = list(predicted.values()) if am.check_mode else list(current_entries(am).values())
    am.exit(True, before=before, after=dict(sorted(predicted.items())), entries=entries, added=to_add,
            removed=to_remove)


def main() -> None:
    spec: dict[str, dict[str, t.Any]] = dict(
        entries=dict(type="list", elements="dict", required=True, options=dict(
            ip_address=dict(type="str"),
            cidr_block=dict(type="str"),
            comment=dict(type="str", default=""),
            delete_after_date=dict(type="str"),
        )),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        purge=dict(type="bool", default=False),
        force_open_to_world=dict(type="bool", default=False),
    )
    AccessListModule(spec).run(run)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: health_status
short_description: Classify a health endpoint answer as healthy, degraded or unhealthy
version_added: 0.1.0
description:
  - Maps an HTTP status code and the response body to V(healthy), V(degraded) or V(unhealthy).
  - Status codes follow the MicMap runbook, 200 healthy, 207 degraded, 503 (any 5xx, any other
    code or no answer) unhealthy.
  - The body can only make things worse, a top-level C(status) of C(degraded) or C(unhealthy);
    a database component that is down makes the app unhealthy, a cache component (redis) that
    is down makes it degraded (the apps fall back gracefully); a database latency between
    O(degraded_ms) and O(unhealthy_ms) is degraded, above O(unhealthy_ms) unhealthy.
options:
  _input:
    description: HTTP status code (-1, 0 or none when there was no answer).
    type: int
    required: true
  body:
    description: Response body, parsed JSON (dict) or text.
    type: raw
  degraded_ms:
    description: Database latency from which the app counts as degraded.
    type: float
    default: 100
  unhealthy_ms:
    description: Database latency above which the app counts as unhealthy.
    type: float
    default: 500
  detail:
    description: Return a dict with C(status) and C(reasons) instead of the status string.
    type: bool
    default: false
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Classify
  ansible.builtin.debug:
    msg: "{{ answer.status | appops.runbooks.health_status(answer.json | default(answer.content | default(''))) }}"
"""

RETURN = r"""
_value:
  description: V(healthy), V(degraded) or V(unhealthy) (or a dict with C(status), C(reasons) when O(detail=true)).
  type: raw
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._health import health_report


def health_status(code: t.Any, body: t.Any = None, degraded_ms: float = 100, unhealthy_ms: float = 500,
                  detail: bool = False) -> t.Any:
    report = health_report(code, body, degraded_ms, unhealthy_ms)
    return report if detail else report["status"]


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"health_status": health_status}
